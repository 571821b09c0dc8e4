import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { pgLayer } from "../src/database/Database.ts"
import { UserId } from "../src/domain/index.ts"
import { TaskRepository } from "../src/repository/TaskRepository.ts"
import { migrate } from "../src/database/Migrator.ts"
import { asError, asTask, asTasks, call, json, serve } from "./support/http.ts"
import { embeddedServiceEnv, freshDatabaseUrl, temporaryDataDir } from "./support/postgres.ts"
import { everything } from "./support/lists.ts"
import { PgRepository } from "./support/repositories.ts"
import { startService } from "./support/service.ts"

/**
 * Concurrency, persistence and migrations on real PostgreSQL (the server named by
 * TEST_DATABASE_URL, or the embedded one). Each test has a database of its own.
 */
describe("on PostgreSQL", () => {
  it.scopedLive("100 concurrent creates for one user give exactly 100 tasks with distinct ids", () =>
    Effect.gen(function*() {
      const base = yield* serve(PgRepository)
      const answers = yield* Effect.all(
        Array.from({ length: 100 }, (_, i) => call(base, "POST", "/users/9/tasks", json({ title: `task ${i}` }))),
        { concurrency: "unbounded" }
      )
      expect(answers.map((answer) => answer.status)).toEqual(Array(100).fill(201))
      const ids = answers.map((answer) => asTask(answer).id)
      expect(new Set(ids).size).toBe(100)
      const listed = asTasks(yield* call(base, "GET", "/users/9/tasks"))
      expect(listed).toHaveLength(100)
      expect(listed.map((task) => task.id)).toEqual([...ids].sort((a, b) => a - b))
    }))

  it.scopedLive("50 concurrent first creates of brand-new users all succeed", () =>
    Effect.gen(function*() {
      const base = yield* serve(PgRepository)
      for (const user of [1001, 1002]) {
        const answers = yield* Effect.all(
          Array.from({ length: 50 }, (_, i) => call(base, "POST", `/users/${user}/tasks`, json({ title: `first ${i}` }))),
          { concurrency: "unbounded" }
        )
        expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(201))
        expect(asTasks(yield* call(base, "GET", `/users/${user}/tasks`))).toHaveLength(50)
      }
    }))

  it.scopedLive("concurrent updates of one task leave it equal to one of the updates, field by field", () =>
    Effect.gen(function*() {
      const base = yield* serve(PgRepository)
      const created = asTask(yield* call(base, "POST", "/users/3/tasks", json({ title: "start", description: "start" })))
      const path = `/users/3/tasks/${created.id}`
      const updates = Array.from({ length: 40 }, (_, i) => ({
        title: `title ${i}`,
        description: i % 3 === 0 ? null : `description ${i}`,
        completed: i % 2 === 0
      }))
      const answers = yield* Effect.all(updates.map((update) => call(base, "PUT", path, json(update))), {
        concurrency: "unbounded"
      })
      expect(answers.every((answer) => answer.status === 200)).toBe(true)
      const final = asTask(yield* call(base, "GET", path))
      const winner = updates.find((update) => update.title === final.title)
      expect(winner).toBeDefined()
      expect({ title: final.title, description: final.description, completed: final.completed }).toEqual(winner)
      // Each answer is a state that existed: every one of its fields came from its own request.
      for (const [i, answer] of answers.entries()) expect(asTask(answer)).toMatchObject(updates[i]!)
      const stamps = answers.map((answer) => asTask(answer).updated_at.getTime())
      expect(new Set(stamps).size).toBe(stamps.length)
    }))

  it.scopedLive("ids beyond int4 never reach PostgreSQL; a write that fails leaves no trace", () =>
    Effect.gen(function*() {
      const base = yield* serve(PgRepository)
      const tooBig = yield* call(base, "POST", "/users/2147483648/tasks", json({ title: "t" }))
      expect(asError(tooBig).details).toMatchObject({ field: "user_id", constraint: "range" })
      const invalid = yield* call(base, "POST", "/users/77/tasks", json({ title: "t", description: "\u0000" }))
      expect(invalid.status).toBe(400)
      expect((yield* call(base, "GET", "/users/77/tasks")).json).toEqual([])
    }))
})

describe("batched writes", () => {
  it.live("a create interrupted while it waits for its batch never runs", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskRepository
      const fiber = yield* Effect.fork(tasks.create(UserId.make(5), { title: "never", description: null }, Option.none()))
      // The fork has queued its create; the batch leaves at the end of this turn.
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("100 millis")
      expect((yield* tasks.list(UserId.make(5), everything)).head).toEqual([])
    }).pipe(Effect.provide(PgRepository)))
})

describe("migrations", () => {
  it.scopedLive("re-running is a no-op, and two migrators starting at once do not collide", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const pool = () => pgLayer(url, { poolSize: 3, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })
      const run = migrate.pipe(Effect.provide(Layer.merge(pool(), NodeContext.layer)))
      const [first, second] = yield* Effect.all([run, run], { concurrency: "unbounded" })
      expect([...first, ...second].map(([id]) => id)).toEqual([1, 2, 3])
      expect(yield* run).toEqual([])
      const tables = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).pipe(
          Effect.provide(pool())
        )
      expect(tables.map((row) => row.name)).toEqual([
        "effect_sql_migrations",
        "idempotency_keys",
        "sign_in_failures",
        "tasks",
        "user_subjects",
        "users"
      ])
    }))
})

describe("persistence", () => {
  it.scopedLive("acknowledged writes survive SIGKILL of the service and a restart (DATABASE_URL)", () =>
    Effect.gen(function*() {
      const url = Redacted.value(yield* freshDatabaseUrl)
      const first = yield* startService({ DATABASE_URL: url })
      const created = yield* call(first.base, "POST", "/users/5/tasks", json({ title: "survives" }))
      expect(created.status).toBe(201)
      first.process.kill("SIGKILL")
      yield* Effect.promise(() => first.exited)
      const second = yield* startService({ DATABASE_URL: url })
      const got = yield* call(second.base, "GET", `/users/5/tasks/${asTask(created).id}`)
      expect(got.status).toBe(200)
      expect(got.json).toEqual(created.json)
    }), 120_000)

  it.scopedLive("on the embedded database: data in DATA_DIR survives SIGKILL, the next start works", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const first = yield* startService(embeddedServiceEnv(dataDir))
      expect(first.output()).toContain(dataDir)
      const created = yield* call(first.base, "POST", "/users/5/tasks", json({ title: "kept on disk" }))
      expect(created.status).toBe(201)
      first.process.kill("SIGKILL")
      yield* Effect.promise(() => first.exited)
      const second = yield* startService(embeddedServiceEnv(dataDir))
      const got = yield* call(second.base, "GET", "/users/5/tasks")
      expect(got.json).toEqual([created.json])
      second.process.kill("SIGTERM")
      expect(yield* Effect.promise(() => second.exited)).toBe(0)
    }), 120_000)
})
