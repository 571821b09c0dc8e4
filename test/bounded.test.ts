import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "../src/domain/Task.ts"
import { startBundled } from "./support/bundle.ts"
import { readJsonArray } from "./support/jsonArray.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/**
 * Issue 13: memory bounded whatever the data. A user with 20,000 tasks of maximal size
 * (~22 KB of UTF-8 each, ~440 MB as one JSON array) is listed without a limit by 8 clients
 * at once, against the service as `npm start` runs it (bundle, heap cap). Every client gets
 * the complete, valid array; the service's RSS stays under 300 MB; `/health` answers
 * throughout. Before lists were streamed, one such request killed the process (heap limit
 * in JSON.stringify).
 */

const TASKS = 20_000
const CLIENTS = 8
const RSS_LIMIT_MB = 300
const title = "😀".repeat(TITLE_MAX_LENGTH)
const description = "😀".repeat(DESCRIPTION_MAX_LENGTH)

const rssMb = (pid: number): number => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

const decodeListed = Schema.decodeUnknownSync(
  Schema.Struct({ id: Schema.Number, user_id: Schema.Number, title: Schema.String, description: Schema.String })
)

/** The whole list read as a stream: how many tasks, all of user 1, in id order, all maximal. */
const listAll = (base: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}/users/1/tasks`)
    if (response.status !== 200 || response.body === null) return { status: response.status, count: 0, ordered: false, whole: false }
    let count = 0
    let last = 0
    let ordered = true
    let whole = true
    await readJsonArray(response.body, (element) => {
      const task = decodeListed(element)
      count++
      if (!(task.id > last) || task.user_id !== 1) ordered = false
      if (task.title !== title || task.description !== description) whole = false
      last = task.id
    })
    return { status: response.status, count, ordered, whole }
  })

describe("bounded memory (postgres)", () => {
  it.scopedLive(`${CLIENTS} clients list ${TASKS} maximal tasks at once: complete arrays, RSS < ${RSS_LIMIT_MB} MB, /health answers`, () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const service = yield* startBundled({ DATABASE_URL: Redacted.value(url), LOG_LEVEL: "Info" })
      // Seeded in SQL: 440 MB through the API would take longer than the listing.
      yield* Effect.flatMap(PgClient.PgClient, (sql) =>
        Effect.zipRight(
          sql`INSERT INTO users (id) VALUES (1)`,
          sql`INSERT INTO tasks (user_id, title, description)
              SELECT 1, ${title}, ${description} FROM generate_series(1, ${TASKS})`
        )).pipe(Effect.provide(PgClient.layer({ url, maxConnections: 1 })), Effect.orDie)

      const pid = service.process.pid!
      let peak = rssMb(pid)
      const health: Array<{ status: number; ms: number }> = []
      let listing = true
      const watch = Effect.promise(async () => {
        while (listing) {
          peak = Math.max(peak, rssMb(pid))
          const started = performance.now()
          const status = await fetch(`${service.base}/health`, { signal: AbortSignal.timeout(5_000) }).then(
            async (response) => (await response.arrayBuffer(), response.status),
            () => 0
          )
          health.push({ status, ms: performance.now() - started })
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      })
      const lists = Effect.all(Array.from({ length: CLIENTS }, () => listAll(service.base)), { concurrency: "unbounded" })
        .pipe(Effect.ensuring(Effect.sync(() => (listing = false))))

      const [answers] = yield* Effect.all([lists, watch], { concurrency: "unbounded" })

      expect(answers).toEqual(Array.from({ length: CLIENTS }, () => ({ status: 200, count: TASKS, ordered: true, whole: true })))
      expect(service.process.exitCode).toBeNull()
      expect(peak).toBeLessThan(RSS_LIMIT_MB)
      expect(health.length).toBeGreaterThan(0)
      expect(health.filter((probe) => probe.status !== 200)).toEqual([])
      console.info(
        `bounded: peak RSS ${peak.toFixed(0)} MB, /health max ${Math.max(...health.map((probe) => probe.ms)).toFixed(0)} ms over ${health.length} probes`
      )
    }), { timeout: 300_000 })
})
