import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, LogLevel, type Redacted } from "effect"
import { asError, asTask, asTasks, serve } from "./support/http.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { pgRepositoryOn } from "./support/repositories.ts"
import { create, header, list, update } from "./support/v2.ts"

/**
 * Version 2 through HTTP on servers that share one PostgreSQL database: a retried create
 * answers as the first after a restart and on another instance, concurrent creates and
 * conditional updates spread over two instances have one winner, and a 5xx leaves its key free.
 */

/** A server on the database at `url`, with its pool's SqlClient to look behind it. */
const instance = (
  url: Redacted.Redacted<string>,
  options: { readonly queryTimeout?: Duration.Duration; readonly logLevel?: LogLevel.LogLevel } = {}
) =>
  Effect.gen(function*() {
    const built = yield* Layer.build(pgRepositoryOn(url, options))
    const base = yield* serve(Layer.succeedContext(built), options.logLevel === undefined ? {} : { logLevel: options.logLevel })
    return { base, sql: Context.get(built, SqlClient.SqlClient) }
  })

describe("version 2 across instances (postgres)", () => {
  it.scopedLive("a retried create answers as the first after a restart and on another instance", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const body = { title: "survives", description: "restarts" }
      const first = yield* Effect.scoped(Effect.flatMap(instance(url), ({ base }) =>
        create(base, 1, body, { "idempotency-key": "across" })))
      expect(first.status).toBe(201)
      // The first server and its pool are gone; two new ones share the database.
      const [a, b] = yield* Effect.all([instance(url), instance(url)])
      for (const { base } of [a, b]) {
        const again = yield* create(base, 1, body, { "idempotency-key": "across" })
        expect({ status: again.status, text: again.text }).toEqual({ status: 201, text: first.text })
        const reused = yield* create(base, 1, { title: "other" }, { "idempotency-key": "across" })
        expect(asError(reused).code).toBe("IDEMPOTENCY_KEY_REUSED")
      }
      expect(asTasks(yield* list(a.base, 1))).toEqual([asTask(first)])
    }))

  it.scopedLive("20 concurrent creates with one key over two instances: one task", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const bases = (yield* Effect.all([instance(url), instance(url)])).map(({ base }) => base)
      const answers = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => create(bases[i % 2]!, 1, { title: "once" }, { "idempotency-key": "raced" })),
        { concurrency: "unbounded" }
      )
      const created = answers.filter((answer) => answer.status === 201)
      expect(created.length).toBeGreaterThanOrEqual(1)
      expect(new Set(created.map((answer) => answer.text)).size).toBe(1)
      for (const answer of answers) if (answer.status !== 201) expect(asError(answer).code).toBe("IDEMPOTENCY_KEY_IN_USE")
      expect(asTasks(yield* list(bases[1]!, 1))).toEqual([asTask(created[0]!)])
    }))

  it.scopedLive("20 concurrent PUTs with one If-Match over two instances: exactly one 200, the rest 412", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const bases = (yield* Effect.all([instance(url), instance(url)])).map(({ base }) => base)
      const created = yield* create(bases[0]!, 1, { title: "contended" })
      const id = asTask(created).id
      const answers = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) =>
          update(bases[i % 2]!, 1, id, { title: `writer ${i}` }, { "if-match": header(created, "etag")! })),
        { concurrency: "unbounded" }
      )
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array.from({ length: 19 }, () => 412)])
    }))

  it.scopedLive("a create that fails with a 500 does not store its key: the retry creates the task", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const { base, sql } = yield* instance(url, { queryTimeout: Duration.millis(500), logLevel: LogLevel.None })
      expect((yield* create(base, 1, { title: "makes the user" })).status).toBe(201)
      // Another transaction holds the owner's row: the keyed create waits past its timeout.
      const failed = yield* sql.withTransaction(Effect.zipRight(
        sql`SELECT id FROM users WHERE id = ${1} FOR UPDATE`,
        create(base, 1, { title: "retried" }, { "idempotency-key": "after-500" })
      ))
      expect(failed.status).toBe(500)
      expect(asError(failed).code).toBe("INTERNAL_ERROR")
      const retried = yield* create(base, 1, { title: "retried" }, { "idempotency-key": "after-500" })
      expect(retried.status).toBe(201)
      expect(asTask(retried).title).toBe("retried")
      const replayed = yield* create(base, 1, { title: "retried" }, { "idempotency-key": "after-500" })
      expect(replayed.text).toBe(retried.text)
      expect(asTasks(yield* list(base, 1)).map((task) => task.title)).toEqual(["makes the user", "retried"])
    }), 30_000)
})
