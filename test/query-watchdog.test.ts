import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Redacted } from "effect"
import * as Pg from "pg"
import { pgLayer } from "../src/database/Database.ts"
import { PreparingClient } from "../src/database/Prepared.ts"
import { QueryWatchdog, WatchedClient, type WatchedConfig } from "../src/database/QueryWatchdog.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/** A pool of one connection of `Client`, watched with `limitMillis`, ended with the scope. */
const watchedPool = (url: Redacted.Redacted<string>, Client: typeof WatchedClient, limitMillis: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const watchdog = new QueryWatchdog(limitMillis)
      const options: Pg.PoolConfig & WatchedConfig = { connectionString: Redacted.value(url), max: 1, Client, watchdog }
      const pool = new Pg.Pool(options)
      pool.on("error", () => undefined)
      watchdog.start()
      return { pool, watchdog }
    }),
    ({ pool, watchdog }) => Effect.promise(() => pool.end()).pipe(Effect.ensuring(Effect.sync(() => watchdog.stop())))
  )

type Answer = { readonly value: number } | { readonly error: string }

/** `SELECT 100 / $1` through the pool's callback API: a value, or division by zero's error. */
const divide = (pool: Pg.Pool, by: number) =>
  Effect.async<Answer>((resume) => {
    pool.query("SELECT 100 / $1::int AS value", [by], (error, result) => {
      resume(Effect.succeed(error ? { error: error.message } : { value: Number(result.rows[0].value) }))
    })
  })

describe("the query watchdog", () => {
  for (const Client of [WatchedClient, PreparingClient]) {
    it.scopedLive(`${Client.name}: every answer reaches its own caller, errors included, on one connection`, () =>
      Effect.gen(function*() {
        const { pool } = yield* watchedPool(yield* freshDatabaseUrl, Client, 5_000)
        const divisors = Array.from({ length: 120 }, (_, i) => (i % 7 === 3 ? 0 : (i % 50) + 1))
        const answers = yield* Effect.all(divisors.map((by) => divide(pool, by)), { concurrency: "unbounded" })
        expect(answers).toEqual(divisors.map((by): Answer =>
          by === 0 ? { error: "division by zero" } : { value: Math.trunc(100 / by) }
        ))
        // The promise form is watched too, and answers as node-postgres does.
        const { rows } = yield* Effect.promise(() => pool.query<{ one: number }>("SELECT 1 AS one"))
        expect(rows).toEqual([{ one: 1 }])
      }))
  }

  it.scopedLive("closes a connection that leaves a query unanswered past the limit; the pool goes on", () =>
    Effect.gen(function*() {
      const { pool } = yield* watchedPool(yield* freshDatabaseUrl, PreparingClient, 300)
      const started = Date.now()
      const stuck = yield* Effect.async<string>((resume) => {
        pool.query("SELECT pg_sleep($1::float8)", [3], (error) => resume(Effect.succeed(error?.message ?? "answered")))
      })
      const waited = Date.now() - started
      expect(stuck).toBe("Query read timeout: no answer from PostgreSQL in 300 ms")
      expect(waited).toBeGreaterThanOrEqual(300)
      expect(waited).toBeLessThan(1_500)
      // A new connection answers the next query.
      expect(yield* divide(pool, 4)).toEqual({ value: 25 })
    }))

  it.scopedLive("leaves a busy connection alone while its answers keep coming", () =>
    Effect.gen(function*() {
      const { pool } = yield* watchedPool(yield* freshDatabaseUrl, PreparingClient, 400)
      // Eight queries of 150 ms each on one connection: 1.2 s in all, never 400 ms without an answer.
      const slept = yield* Effect.all(
        Array.from({ length: 8 }, () =>
          Effect.async<string>((resume) => {
            pool.query("SELECT pg_sleep($1::float8)", [0.15], (error) => resume(Effect.succeed(error?.message ?? "answered")))
          })),
        { concurrency: "unbounded" }
      )
      expect(slept).toEqual(Array.from({ length: 8 }, () => "answered"))
    }))

  it.scopedLive("a query_timeout in DATABASE_URL is dropped: the watchdog is the client-side limit", () =>
    Effect.gen(function*() {
      // node-postgres' own 1 ms limit would fail this query (and answer it out of turn).
      const url = new URL(Redacted.value(yield* freshDatabaseUrl))
      url.searchParams.set("query_timeout", "1")
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 AS one FROM pg_sleep(0.2)`).pipe(
        Effect.provide(pgLayer(Redacted.make(url.toString()), {
          poolSize: 1,
          connectTimeout: Duration.seconds(5),
          queryTimeout: Duration.seconds(5)
        }))
      )
      expect(rows).toEqual([{ one: 1 }])
    }))
})
