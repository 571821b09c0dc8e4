import { Cause, ConfigError, Effect, Option } from "effect"

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

const field = (value: unknown, name: string): string | undefined => {
  if (typeof value !== "object" || value === null || !(name in value)) return undefined
  const found: unknown = Reflect.get(value, name)
  return typeof found === "string" ? found : undefined
}

// The failures start-up expects, by tag, each as its own sentence; anything else by its message.
const headline = (error: unknown): string => {
  const message = field(error, "message") ?? String(error)
  switch (field(error, "_tag")) {
    case "DatabaseUnavailable":
    case "MigrationFailed":
    case "Unservable":
      return message
    case "EmbeddedDatabaseError":
      return `The embedded PostgreSQL could not start: ${message}`
    case "MigrationError":
      return `Migrations failed: ${message}`
    case "SqlError": {
      const cause = field(Reflect.get(Object(error), "cause"), "message")
      return `Start-up failed on the database: ${message}${cause === undefined ? "" : `: ${cause}`}`
    }
  }
  return `Start-up failed: ${message}`
}

/** One line, whatever the message holds (an embedded server's log tail has several). */
export const startupFailureLine = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const text = Option.isSome(failure) ? headline(failure.value) : `Start-up failed: ${headline(Cause.squash(cause))}`
  return text.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" | ")
}

/**
 * A failure before the service serves (the database is not there, the embedded one cannot
 * start, a migration fails, the port is taken) is logged as one line at error level, through the
 * configured logger, and the process exits with 1. The cause with its stack is logged at debug.
 * An interruption (SIGTERM during start-up) stays an interruption.
 */
export const exitOnStartupFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError(startupFailureLine(cause)).pipe(
      Effect.zipRight(Effect.logDebug("The start-up failure in full", cause)),
      Effect.zipRight(Effect.sync(() => process.exit(1)))
    ))
