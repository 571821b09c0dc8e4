import { Chunk, Context, Effect, Exit, FiberRef, Option, Runtime, type Tracer } from "effect"

interface Pending<K, A, E> {
  readonly key: K
  readonly resume: (effect: Effect.Effect<A, E>) => void
  /** The caller's span, kept only when batches are traced. */
  readonly span: Tracer.AnySpan | undefined
}

/**
 * What batches report besides their answers, read once from the runtime a batcher is made
 * with. Without one, a batcher keeps no span and calls nothing per batch.
 */
export interface BatchObserverShape {
  /**
   * A batch's statements are children of the first sampled span among its callers' (else the
   * first's) and link to every caller's span: each request's trace shows the query that
   * answered it, and the query shows every request it served.
   */
  readonly traced: boolean
  /** Called with the number of keys of each batch sent (a batch's members run again alone count as batches of one). */
  readonly sized: ((size: number) => void) | undefined
}

export class BatchObserver extends Context.Tag("repository/BatchObserver")<BatchObserver, BatchObserverShape>() {}

/**
 * Cross-request batching (the DataLoader pattern). Lookups made while the event loop is
 * handling one turn of I/O (every request node parsed from the sockets that were ready)
 * are answered by one statement when that turn ends (`setImmediate`): one round trip, one
 * pooled connection and one statement for many requests, instead of one each. A lone
 * lookup waits for nothing but the end of the current turn.
 *
 * `resolve` gets the keys of one batch and returns how to answer each key. When a batch of
 * several fails, each of its members is resolved again alone (all at once, each its own
 * statement), so only a member that fails on its own fails: one user's bad row or held lock
 * cannot fail the requests that shared its batch. A failed batch statement changed nothing
 * (one statement is atomic), so running its members again is safe. With `distinct`, keys
 * that name the same thing never share a batch: the later ones wait for the next (a key
 * whose identity is `undefined` names nothing another key could).
 */
export const batcher = <K, A, E, R>(
  runtime: Runtime.Runtime<R>,
  resolve: (keys: ReadonlyArray<K>) => Effect.Effect<(key: K) => A, E, R>,
  options: { readonly distinct?: (key: K) => string | undefined } = {}
): (key: K) => Effect.Effect<A, E> => {
  const run = Runtime.runFork(runtime)
  const observer = Option.getOrUndefined(Context.getOption(runtime.context, BatchObserver))
  const traced = observer?.traced === true
  const sized = observer?.sized
  let pending: Array<Pending<K, A, E>> = []

  const send = (entries: ReadonlyArray<Pending<K, A, E>>) => {
    sized?.(entries.length)
    const statement = resolve(entries.map((entry) => entry.key))
    return run(traced ? withCallerSpans(statement, entries) : statement)
  }

  const take = (): Array<Pending<K, A, E>> => {
    const all = pending
    pending = []
    if (options.distinct === undefined) return all
    const seen = new Set<string>()
    const batch: Array<Pending<K, A, E>> = []
    for (const entry of all) {
      const identity = options.distinct(entry.key)
      if (identity === undefined) batch.push(entry)
      else if (seen.has(identity)) pending.push(entry)
      else {
        seen.add(identity)
        batch.push(entry)
      }
    }
    if (pending.length > 0) setImmediate(flush)
    return batch
  }

  const flush = () => {
    const batch = take()
    if (batch.length === 0) return
    send(batch).addObserver((exit) => {
      if (Exit.isFailure(exit) && batch.length > 1 && !Exit.isInterrupted(exit)) {
        for (const entry of batch) alone(entry)
        return
      }
      for (const entry of batch) answer(entry, exit)
    })
  }

  // Each answer is read here, not in a thunk the caller's fiber runs: one allocation less per
  // request. A reading that throws is that caller's defect, as it was in the thunk.
  const answer = (entry: Pending<K, A, E>, exit: Exit.Exit<(key: K) => A, E>) => {
    if (Exit.isFailure(exit)) return entry.resume(Effect.failCause(exit.cause))
    let value: Effect.Effect<A>
    try {
      value = Effect.succeed(exit.value(entry.key))
    } catch (defect) {
      value = Effect.die(defect)
    }
    entry.resume(value)
  }

  const alone = (entry: Pending<K, A, E>) => send([entry]).addObserver((exit) => answer(entry, exit))

  const enqueue = (key: K, span: Tracer.AnySpan | undefined) =>
    Effect.async<A, E>((resume) => {
      const entry = { key, resume, span }
      pending.push(entry)
      if (pending.length === 1) setImmediate(flush)
      // Interrupted before its batch left: it leaves the queue and never runs. Once the
      // batch's statement is sent it runs to its end, like any query in flight.
      return Effect.sync(() => {
        const index = pending.indexOf(entry)
        if (index !== -1) pending.splice(index, 1)
      })
    })

  return traced
    ? (key) => Effect.withFiberRuntime((fiber) => enqueue(key, fiber.currentSpan))
    : (key) => enqueue(key, undefined)
}

const withCallerSpans = <A, E, R>(
  statement: Effect.Effect<A, E, R>,
  entries: ReadonlyArray<{ readonly span: Tracer.AnySpan | undefined }>
): Effect.Effect<A, E, R> => {
  const spans: Array<Tracer.AnySpan> = []
  for (const entry of entries) if (entry.span !== undefined) spans.push(entry.span)
  if (spans.length === 0) return statement
  const parent = spans.find((span) => span.sampled) ?? spans[0]!
  const links = spans.map((span): Tracer.SpanLink => ({ _tag: "SpanLink", span, attributes: {} }))
  return statement.pipe(
    Effect.locallyWith(FiberRef.currentTracerSpanLinks, Chunk.appendAll(Chunk.unsafeFromArray(links))),
    // OpenTelemetry's name for it, set only on real batches (two or more operations).
    entries.length > 1 ? Effect.annotateSpans("db.operation.batch.size", entries.length) : (self) => self,
    Effect.withParentSpan(parent)
  )
}
