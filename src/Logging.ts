import { Effect, Layer, Logger } from "effect"
import { LogConfig } from "./AppConfig.ts"

/**
 * Effect's JSON lines, cheaper for the common case. A line whose message is text (the
 * request line, every line this service writes but a few) is its structured form through
 * plain `JSON.stringify`; anything else, or anything `JSON.stringify` refuses, goes through
 * Effect's own JSON logger (errors spelled out, circular references cut). The bytes are
 * Effect's (a test compares them), with one difference: a value that appears twice in a
 * line is written twice, where Effect's logger drops the repeat. Lines are written to
 * stdout directly, not through Effect's `Console` service.
 */
export const jsonLogger = Logger.make<unknown, string>((options) => {
  const structured = Logger.structuredLogger.log(options)
  if (typeof structured.message === "string") {
    try {
      return JSON.stringify(structured)
    } catch {
      // Below.
    }
  }
  return Logger.jsonLogger.log(options)
})

const jsonLines = Logger.make<unknown, void>((options) => {
  process.stdout.write(jsonLogger.log(options) + "\n")
})

/**
 * Logs as one JSON object per line (the default when stdout is not a terminal) or in
 * Effect's pretty format, at `LOG_LEVEL` and above.
 */
export const makeLogging = ({ format, level }: LogConfig) =>
  Layer.merge(
    format === "json" ? Logger.replace(Logger.defaultLogger, jsonLines) : Logger.pretty,
    Logger.minimumLogLevel(level)
  )

export const LoggingLive = Layer.unwrapEffect(Effect.map(LogConfig, makeLogging))
