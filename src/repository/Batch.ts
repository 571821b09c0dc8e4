import { Effect, Exit, Runtime } from "effect"

/**
 * Cross-request batching (the DataLoader pattern). Lookups made while the event loop is
 * handling one turn of I/O (every request node parsed from the sockets that were ready)
 * are answered by one query when that turn ends (`setImmediate`): one round trip, one
 * pooled connection and one statement for many requests, instead of one each. A lone
 * lookup waits for nothing but the end of the current turn.
 *
 * `resolve` gets the keys of one batch and returns how to answer each key; a failure
 * of the batch fails every lookup in it, with the same cause.
 */
export const batcher = <K, A, E, R>(
  runtime: Runtime.Runtime<R>,
  resolve: (keys: ReadonlyArray<K>) => Effect.Effect<(key: K) => A, E, R>
): (key: K) => Effect.Effect<A, E> => {
  const run = Runtime.runFork(runtime)
  let pending: Array<{ readonly key: K; readonly resume: (effect: Effect.Effect<A, E>) => void }> = []

  const flush = () => {
    const batch = pending
    pending = []
    run(resolve(batch.map((entry) => entry.key))).addObserver((exit) => {
      for (const entry of batch) {
        entry.resume(Exit.isSuccess(exit) ? Effect.sync(() => exit.value(entry.key)) : Effect.failCause(exit.cause))
      }
    })
  }

  return (key) =>
    Effect.async<A, E>((resume) => {
      pending.push({ key, resume })
      if (pending.length === 1) setImmediate(flush)
    })
}
