import { Duration, Option, Schema } from "effect"

/**
 * PostgreSQL could not be reached at start-up. `message` is the one line an operator reads: the
 * URL without its password and the reason in words; `cause` (the driver's error) is for debug.
 */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  message: Schema.String,
  cause: Schema.Defect
}) {}

/** A migration failed at start-up (or in `npm run migrate`): the migration URL and why. */
export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  message: Schema.String,
  cause: Schema.Defect
}) {}

const fieldOf = (error: unknown, field: string): string | undefined => {
  if (typeof error !== "object" || error === null || !(field in error)) return undefined
  const value: unknown = Reflect.get(error, field)
  return typeof value === "string" ? value : undefined
}

// The driver's error is the innermost `cause` (@effect/sql wraps it in a SqlError); an
// AggregateError (a host name with several addresses) carries one error per address.
const innermost = (error: unknown): unknown => {
  let current = error
  for (let depth = 0; depth < 5; depth++) {
    if (typeof current !== "object" || current === null) break
    const next: unknown = Reflect.get(current, "cause")
    if (next === undefined) break
    current = next
  }
  if (current instanceof AggregateError && current.errors.length > 0) return current.errors[0]
  return current
}

/** Why a connection failed, in a few words: refused, timeout, authentication, missing database, TLS. */
export const connectFailureReason = (error: unknown, timedOutAfter: Option.Option<Duration.Duration>): string => {
  if (Option.isSome(timedOutAfter)) {
    return `timeout: no answer within ${Duration.format(timedOutAfter.value)} (DATABASE_CONNECT_TIMEOUT)`
  }
  const cause = innermost(error)
  const code = fieldOf(cause, "code") ?? ""
  const message = fieldOf(cause, "message") ?? String(cause)
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running and listening on that host and port?)"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found"
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable"
    case "ECONNRESET":
      return "connection reset by the server"
    case "28P01":
      return `authentication failed (${message})`
    case "28000":
      return `authentication refused (${message})`
    case "3D000":
      return `database missing (${message})`
    case "53300":
      return `too many connections (${message})`
    case "57P03":
      return `the server is starting up or shutting down (${message})`
  }
  if (/SSL|TLS|certificate|CERT_|self[- ]signed/i.test(`${code} ${message}`)) return `TLS failed (${message})`
  if (/time(d)? ?out|timeout expired/i.test(message)) return "timeout: the server did not answer in time (DATABASE_CONNECT_TIMEOUT)"
  return code === "" ? message : `${message} (${code})`
}
