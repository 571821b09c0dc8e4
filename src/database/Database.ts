import * as PgClient from "@effect/sql-pg/PgClient"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import * as Pg from "pg"
import { DatabaseConfig } from "../AppConfig.ts"
import * as Embedded from "./Embedded.ts"
import { parseTimestamptz } from "./Timestamps.ts"

/** The parts of a URL that are safe to log: never the password. */
export const describeUrl = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.protocol}//${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ""}${parsed.host}${parsed.pathname}`
  } catch {
    return "<unparseable DATABASE_URL>"
  }
}

/**
 * node-postgres' client-side `query_timeout`, set through the URL since the pool options
 * of @effect/sql-pg do not carry it: a query that gets no answer in time fails with an
 * error (a 500) instead of holding its request. It costs one timer per query, where an
 * Effect-level timeout cost a fiber race (measured: ~40 µs of CPU per query). It is a
 * client-side setting, so poolers that refuse unknown startup parameters (Neon's
 * PgBouncer) never see it.
 */
const withQueryTimeout = (url: Redacted.Redacted<string>, timeout: Duration.Duration): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  if (!parsed.searchParams.has("query_timeout")) {
    // A little longer than the server-side statement timeout of writes, which should
    // fire first and roll the write back; this one is for a server that does not answer.
    parsed.searchParams.set("query_timeout", String(Duration.toMillis(timeout) + 500))
  }
  return Redacted.make(parsed.toString())
}

/** `timestamptz` by a faster parser (see Timestamps.ts); every other type as node-postgres parses it. */
const types = new Pg.TypeOverrides()
types.setTypeParser(Pg.types.builtins.TIMESTAMPTZ, "text", parseTimestamptz)

/** A pool on `url`, with the timeouts that keep requests from waiting on a dead database. */
export const pgLayer = (
  url: Redacted.Redacted<string>,
  config: Pick<DatabaseConfig, "poolSize" | "connectTimeout" | "queryTimeout">
) =>
  PgClient.layer({
    url: withQueryTimeout(url, config.queryTimeout),
    maxConnections: config.poolSize,
    connectTimeout: config.connectTimeout,
    idleTimeout: "30 seconds",
    applicationName: "task-api",
    types
  })

/**
 * PostgreSQL from configuration: the server named by `DATABASE_URL`, or else the embedded
 * PostgreSQL kept in `DATA_DIR`, started here and stopped when the layer is released.
 */
export const makeDatabase = (config: DatabaseConfig) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    if (Option.isSome(config.url)) {
      yield* Effect.logInfo(`Using PostgreSQL at ${describeUrl(config.url.value)}`)
      return pgLayer(config.url.value, config)
    }
    const embedded = yield* Embedded.start({ dataDir: config.dataDir })
    yield* Effect.logInfo(
      `Using the embedded PostgreSQL with its data in ${embedded.dataDir}; set DATABASE_URL to use a PostgreSQL server instead`
    )
    return pgLayer(embedded.url, config)
  }))

export const DatabaseLive = Layer.unwrapEffect(Effect.map(DatabaseConfig, makeDatabase))
