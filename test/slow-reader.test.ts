import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import * as Http from "node:http"
import { DESCRIPTION_MAX_LENGTH } from "../src/domain/Task.ts"
import { readJsonArray } from "./support/jsonArray.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { startService } from "./support/service.ts"

/**
 * Issue 13: a long list is written with backpressure, page by page, and a client that stops
 * reading holds no pooled connection while it stalls. With a pool of 2 and 4 clients that read
 * the status and then nothing, another user is answered at once and no connection of the
 * service is busy; when the readers resume, each gets its whole array. A stream that kept a
 * connection (a cursor, or one query for the whole list) for its answer fails all of it.
 */

const TASKS = 3_000
const READERS = 4
const description = "😀".repeat(DESCRIPTION_MAX_LENGTH)

/** A GET whose body is not read until `resume` is called. */
const stalled = (base: string, path: string) =>
  Effect.async<{ status: number; resume: () => Promise<number> }, Error>((done) => {
    const request = Http.get(`${base}${path}`, (response) => {
      response.pause()
      done(Effect.succeed({
        status: response.statusCode ?? 0,
        resume: async () => {
          let count = 0
          await readJsonArray(response, () => count++)
          return count
        }
      }))
    })
    request.once("error", (error) => done(Effect.fail(error)))
  })

const Busy = Schema.Struct({ busy: Schema.Number })

describe("slow readers (postgres)", () => {
  it.scopedLive(`${READERS} clients that stop reading a long list hold no connection of a pool of 2`, () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const service = yield* startService({ DATABASE_URL: Redacted.value(url), DATABASE_POOL_SIZE: "2" })
      const sql = Context.get(yield* Layer.build(PgClient.layer({ url, maxConnections: 1 })), PgClient.PgClient)
      yield* Effect.zipRight(
        sql`INSERT INTO users (id) VALUES (1)`,
        sql`INSERT INTO tasks (user_id, title, description) SELECT 1, 'long ' || n, ${description} FROM generate_series(1, ${TASKS}) AS n`
      ).pipe(Effect.orDie)

      // ~60 MB each: far more than the sockets' buffers, so every reader stalls the service's writes.
      const readers = yield* Effect.all(Array.from({ length: READERS }, () => stalled(service.base, "/users/1/tasks")))
      expect(readers.map((reader) => reader.status)).toEqual(Array.from({ length: READERS }, () => 200))
      yield* Effect.sleep("1 second")

      // Another user, meanwhile: answered at once, with both connections free.
      const other = yield* Effect.promise(async () => {
        const started = performance.now()
        const created = await fetch(`${service.base}/users/2/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ title: "while others stall" }),
          signal: AbortSignal.timeout(10_000)
        })
        const listed = await fetch(`${service.base}/users/2/tasks`, { signal: AbortSignal.timeout(10_000) })
        return { created: created.status, listed: listed.status, body: await listed.json(), ms: performance.now() - started }
      })
      expect(other).toMatchObject({ created: 201, listed: 200, body: [{ title: "while others stall" }] })
      expect(other.ms).toBeLessThan(2_000)
      const [{ busy }] = yield* sql`SELECT count(*)::int AS busy FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Tuple(Busy))),
        Effect.orDie
      )
      expect(busy).toBe(0)

      const counts = yield* Effect.promise(() => Promise.all(readers.map((reader) => reader.resume())))
      expect(counts).toEqual(Array.from({ length: READERS }, () => TASKS))
    }), 120_000)
})
