import { ConfigError } from "effect"
import { Cause, Effect } from "effect"

/**
 * An invalid configuration stops start-up with one line naming the variable, and a
 * non-zero exit code; a stack of Effect internals would help nobody.
 */
export const exitOnInvalidConfig = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAllCause(self, (cause) => {
    const failure = Cause.failureOption(cause)
    if (failure._tag === "Some" && ConfigError.isConfigError(failure.value)) {
      return Effect.sync(() => {
        process.stderr.write(`Invalid configuration: ${String(failure.value)}\n`)
        process.exit(1)
      })
    }
    return Effect.failCause(cause)
  })
