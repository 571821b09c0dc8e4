import { Effect, Layer, Logger } from "effect"
import { LogConfig } from "./AppConfig.ts"

/**
 * Logs as one JSON object per line (the default when stdout is not a terminal) or in
 * Effect's pretty format, at `LOG_LEVEL` and above.
 */
export const makeLogging = ({ format, level }: LogConfig) =>
  Layer.merge(format === "json" ? Logger.json : Logger.pretty, Logger.minimumLogLevel(level))

export const LoggingLive = Layer.unwrapEffect(Effect.map(LogConfig, makeLogging))
