import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import * as Pg from "pg"
import { DatabaseConfig } from "../AppConfig.ts"
import { connectFailureReason, DatabaseUnavailable, MigrationFailed } from "./ConnectFailure.ts"
import * as Embedded from "./Embedded.ts"
import { MigratorLive } from "./Migrator.ts"
import { PoolCounts } from "./PoolCounts.ts"
import { PreparingClient } from "./Prepared.ts"
import { QueryWatchdog, WatchedClient, type WatchedConfig } from "./QueryWatchdog.ts"
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
 * The URL without node-postgres' `query_timeout`: the pool's `QueryWatchdog` is the client-side
 * limit (`DATABASE_QUERY_TIMEOUT` + 0.5 s). node-postgres' own would arm a timer per query and
 * answer a late query out of turn, which the watched queries' shared callback does not expect.
 */
const withoutQueryTimeout = (url: Redacted.Redacted<string>): Redacted.Redacted<string> => {
  const parsed = new URL(Redacted.value(url))
  if (!parsed.searchParams.has("query_timeout")) return url
  parsed.searchParams.delete("query_timeout")
  return Redacted.make(parsed.toString())
}

/** `timestamptz` by a faster parser (see Timestamps.ts); every other type as node-postgres parses it. */
const types = new Pg.TypeOverrides()
types.setTypeParser(Pg.types.builtins.TIMESTAMPTZ, "text", parseTimestamptz)

/**
 * Makes `timeout` the `statement_timeout` of every new session of this role on this database
 * (`ALTER ROLE … IN DATABASE … SET`, which any role may do for itself), before the pool opens
 * its first connection. So every statement, a write above all, that runs past it is cancelled
 * and rolled back by PostgreSQL itself (the client-side `QueryWatchdog` alone would stop
 * waiting while the statement went on and committed), with no `SET` per statement: each write
 * stays one statement with bound parameters, in one round trip. Through a pooler in
 * transaction mode it holds too: the pooler's server connections are sessions of this role.
 *
 * The value is a checked duration from configuration, never request data. Instances on one
 * database share the setting: the last one started wins.
 */
const applyStatementTimeout = (url: Redacted.Redacted<string>, timeout: Duration.Duration, connectTimeout: Duration.Duration) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      new Pg.Client({
        connectionString: Redacted.value(withoutQueryTimeout(url)),
        connectionTimeoutMillis: Duration.toMillis(connectTimeout),
        application_name: "task-api"
      })
    ),
    (client) =>
      Effect.tryPromise({
        try: async () => {
          await client.connect()
          const millis = Math.max(1, Math.round(Duration.toMillis(timeout)))
          // Instances starting together would race on the role's row ("tuple concurrently
          // updated"): they take turns.
          await client.query(`DO $$ BEGIN
            PERFORM pg_advisory_xact_lock(hashtext('task-api:statement_timeout'));
            EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %s', current_user, current_database(), ${millis});
          END $$`)
        },
        catch: (cause) => new SqlError({ cause, message: "Cannot set the statement timeout of the database role" })
      }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** A pool on `url`, with the timeouts that keep requests from waiting on a dead database. */
export const pgLayer = (
  url: Redacted.Redacted<string>,
  config: Pick<DatabaseConfig, "poolSize" | "connectTimeout" | "queryTimeout"> & {
    /** Statements with parameters prepared per connection (`Prepared.ts`); default true. */
    readonly preparedStatements?: boolean
  }
) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const startedAt = Date.now()
    // The first connections are made here, at start-up: their failure becomes one line.
    // node-postgres reports its connect timeout in several ways ("Connection terminated
    // unexpectedly" among them), so a failure that took the whole timeout is called one.
    const unavailable = (error: unknown) => {
      const timedOut = Date.now() - startedAt >= Duration.toMillis(config.connectTimeout) - 50
      return new DatabaseUnavailable({
        message: `Cannot connect to PostgreSQL at ${describeUrl(url)}: ${
          connectFailureReason(error, timedOut ? Option.some(config.connectTimeout) : Option.none())
        }`,
        cause: error
      })
    }
    yield* Effect.mapError(applyStatementTimeout(url, config.queryTimeout, config.connectTimeout), (error) => unavailable(error.cause))
    // A little longer than the server-side statement timeout (the role's, above), which should
    // fire first and roll a write back; this one is for a server that does not answer.
    const watchdog = new QueryWatchdog(Duration.toMillis(config.queryTimeout) + 500)
    const options: Pg.PoolConfig & WatchedConfig = {
      connectionString: Redacted.value(withoutQueryTimeout(url)),
      max: config.poolSize,
      connectionTimeoutMillis: Duration.toMillis(config.connectTimeout),
      idleTimeoutMillis: 30_000,
      application_name: "task-api",
      types,
      Client: config.preparedStatements === false ? WatchedClient : PreparingClient,
      watchdog
    }
    const pool = new Pg.Pool(options)
    // The pool is made here rather than by `PgClient.layer` (which does the same) so that its
    // counters can be read (`PoolCounts`). A failed connection is reported to the query
    // that needed it; the pool's own `error` event must not crash the process.
    pool.on("error", () => undefined)
    const acquire = Effect.acquireRelease(
      Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.timeoutFail({
          duration: config.connectTimeout,
          onTimeout: () => new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
        }),
        Effect.as(pool),
        Effect.tap(() => watchdog.start())
      ),
      () =>
        Effect.promise(() => pool.end()).pipe(
          Effect.interruptible,
          Effect.timeoutOption(1000),
          Effect.ensuring(Effect.sync(() => watchdog.stop()))
        )
    )
    return Layer.merge(
      PgClient.layerFromPool({ acquire, applicationName: "task-api", types }),
      Layer.succeed(PoolCounts, pool)
    ).pipe(Layer.mapError(unavailable))
  }))

interface DatabaseUrls {
  /** The service's connections: rows only, ideally (see the README's least privilege). */
  readonly runtime: Redacted.Redacted<string>
  /** Migrations: the owner of the schema. */
  readonly migration: Redacted.Redacted<string>
}

/**
 * The URLs from configuration: `DATABASE_URL` (and `MIGRATION_DATABASE_URL`, by default the
 * same), or else the embedded PostgreSQL kept in `DATA_DIR`, started here and stopped when the
 * scope closes, with its runtime and owner roles.
 */
const databaseUrls = (config: DatabaseConfig): Effect.Effect<DatabaseUrls, Embedded.EmbeddedDatabaseError, Scope.Scope> =>
  Effect.gen(function*() {
    if (Option.isSome(config.url)) {
      const runtime = config.url.value
      const migration = Option.getOrElse(config.migrationUrl, () => runtime)
      yield* Effect.logInfo(`Using PostgreSQL at ${describeUrl(runtime)}`)
      if (Option.isSome(config.migrationUrl)) yield* Effect.logInfo(`Migrating as ${describeUrl(migration)}`)
      return { runtime, migration }
    }
    const embedded = yield* Embedded.start({ dataDir: config.dataDir })
    yield* Effect.logInfo(
      `Using the embedded PostgreSQL with its data in ${embedded.dataDir}; set DATABASE_URL to use a PostgreSQL server instead`
    )
    return { runtime: embedded.url, migration: embedded.ownerUrl }
  })

/** Applies pending migrations on one connection of the migration URL, closed when done. */
const migrateWith = (url: Redacted.Redacted<string>, config: DatabaseConfig) =>
  Effect.scoped(Layer.build(MigratorLive.pipe(
    // Unprepared: a migration's DDL may change what a prepared statement of its connection reads.
    Layer.provide(pgLayer(url, { ...config, poolSize: 1, preparedStatements: false })),
    Layer.provide(NodeContext.layer)
  ))).pipe(
    Effect.mapError((error) =>
      error._tag === "DatabaseUnavailable" ? error : new MigrationFailed({
        // A role that may not create tables is the usual reason: the URL says which role it was.
        message: `Migrations failed as ${describeUrl(url)}: ${error.message}${
          error.cause instanceof Error ? `: ${error.cause.message}` : ""
        }`,
        cause: error
      })
    )
  )

/**
 * PostgreSQL from configuration, migrated: migrations run first, as the owner, on a connection
 * of their own; then the pool the service uses is opened with the runtime URL.
 */
export const makeDatabase = (config: DatabaseConfig) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const urls = yield* databaseUrls(config)
    yield* migrateWith(urls.migration, config)
    return pgLayer(urls.runtime, config)
  }))

/** `npm run migrate`: the migrations alone, as the service would apply them at start-up. */
export const migrateDatabase = (config: DatabaseConfig) =>
  Effect.scoped(Effect.flatMap(databaseUrls(config), (urls) => migrateWith(urls.migration, config)))

export const DatabaseLive = Layer.unwrapEffect(Effect.map(DatabaseConfig, makeDatabase))
