import { Config, ConfigError, Duration, Either, LogLevel, Option, Redacted } from "effect"
import { AuthConfig } from "./identity/AuthConfig.ts"
import { MetricsConfig, TracingConfig } from "./operations/OperationsConfig.ts"

/**
 * All configuration comes from the environment, read here and nowhere else.
 * Each entry is documented in the README with its default.
 */

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }),
    Config.withDefault(fallback)
  )

/** A positive duration, in whole milliseconds (what node's timers take). */
const duration = (name: string, fallback: Duration.DurationInput) =>
  Config.duration(name).pipe(
    Config.validate({
      message: "Expected a positive duration of whole milliseconds, e.g. \"5 seconds\" or \"500 millis\"",
      validation: (value) => Duration.toMillis(value) >= 1 && Number.isInteger(Duration.toMillis(value))
    }),
    Config.withDefault(Duration.decode(fallback))
  )

export const ServerConfig = Config.all({
  /** 0 asks the system for any free port (tests use it). */
  port: Config.string("PORT").pipe(
    Config.mapOrFail((text) =>
      /^\d{1,5}$/.test(text.trim()) && Number(text) <= 65535
        ? Either.right(Number(text))
        : Either.left(ConfigError.InvalidData([], `Expected a port number between 0 and 65535, got "${text}"`))
    ),
    Config.withDefault(8000)
  ),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  shutdownTimeout: duration("SHUTDOWN_TIMEOUT", "10 seconds"),
  /** A client must send its headers within this, and its whole request within `requestTimeout`. */
  headersTimeout: duration("HTTP_HEADERS_TIMEOUT", "10 seconds"),
  requestTimeout: duration("HTTP_REQUEST_TIMEOUT", "30 seconds"),
  corsOrigins: Config.string("CORS_ORIGINS").pipe(
    Config.withDefault("*"),
    Config.map((text) => text.split(",").map((origin) => origin.trim()).filter((origin) => origin.length > 0))
  )
}).pipe(
  Config.validate({
    message: "HTTP_HEADERS_TIMEOUT must not be longer than HTTP_REQUEST_TIMEOUT",
    validation: (config) => Duration.lessThanOrEqualTo(config.headersTimeout, config.requestTimeout)
  })
)
export type ServerConfig = Config.Config.Success<typeof ServerConfig>

const isServerUrl = (text: string): boolean => {
  try {
    const url = new URL(text)
    return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== ""
  } catch {
    return false
  }
}

const serverUrl = (name: string) =>
  Config.option(Config.redacted(name)).pipe(
    Config.validate({
      message: `${name}: expected a postgres:// or postgresql:// URL with a host`,
      validation: Option.match({ onNone: () => true, onSome: (url) => isServerUrl(Redacted.value(url)) })
    })
  )

export const DatabaseConfig = Config.all({
  /** Absent: the embedded PostgreSQL in `dataDir`. */
  url: serverUrl("DATABASE_URL"),
  /** Migrations' connection (the schema's owner); absent: `url`. Only with `url`. */
  migrationUrl: serverUrl("MIGRATION_DATABASE_URL"),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./.data")),
  poolSize: positiveInt("DATABASE_POOL_SIZE", 10),
  connectTimeout: duration("DATABASE_CONNECT_TIMEOUT", "5 seconds"),
  queryTimeout: duration("DATABASE_QUERY_TIMEOUT", "5 seconds"),
  /** false: no named statements, for a transaction-mode pooler without them (`Prepared.ts`). */
  preparedStatements: Config.boolean("DATABASE_PREPARED_STATEMENTS").pipe(Config.withDefault(true))
}).pipe(
  Config.validate({
    message: "MIGRATION_DATABASE_URL is only used with DATABASE_URL (the embedded PostgreSQL has its own owner role)",
    validation: (config) => Option.isSome(config.url) || Option.isNone(config.migrationUrl)
  })
)
export type DatabaseConfig = Config.Config.Success<typeof DatabaseConfig>

/** Log level names, in any case; `warn` and `warning` both work. */
const logLevels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

export const LogConfig = Config.all({
  level: Config.string("LOG_LEVEL").pipe(
    Config.mapOrFail((text) => {
      const level = logLevels[text.toLowerCase()]
      return level === undefined
        ? Either.left(ConfigError.InvalidData([], `Expected one of ${Object.keys(logLevels).join(", ")}, got "${text}"`))
        : Either.right(level)
    }),
    Config.withDefault(LogLevel.Info)
  ),
  format: Config.literal("json", "pretty")("LOG_FORMAT").pipe(
    Config.withDefault(process.stdout.isTTY ? "pretty" as const : "json" as const)
  )
})
export type LogConfig = Config.Config.Success<typeof LogConfig>

export { AuthConfig, MetricsConfig, TracingConfig }

/** Every setting, read and checked at once, before anything starts. */
export const AppConfig = Config.all({
  server: ServerConfig,
  database: DatabaseConfig,
  log: LogConfig,
  auth: AuthConfig,
  tracing: TracingConfig,
  metrics: MetricsConfig
}).pipe(
  Config.validate({
    message: "METRICS_PORT must differ from PORT: metrics are never served with the API",
    validation: (config) =>
      Option.match(config.metrics, { onNone: () => true, onSome: ({ port }) => port === 0 || port !== config.server.port })
  })
)
export type AppConfig = Config.Config.Success<typeof AppConfig>
