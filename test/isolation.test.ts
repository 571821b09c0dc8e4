import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { type TaskId, UserId } from "../src/domain/index.ts"
import { pgLayer } from "../src/database/Database.ts"
import * as Embedded from "../src/database/Embedded.ts"
import { TaskRepository } from "../src/repository/TaskRepository.ts"
import { TaskRepositorySql } from "../src/repository/TaskRepositorySql.ts"
import { freshDatabaseUrl, temporaryDataDir } from "./support/postgres.ts"
import { pgRepositoryOn } from "./support/repositories.ts"

/**
 * Issue 13 at the repository: one user's stuck row never fails another user's write, and no
 * user data reaches PostgreSQL as SQL text.
 */
const users = Array.from({ length: 12 }, (_, i) => UserId.make(3001 + i))
const TIMEOUT = Duration.seconds(2)

/** Runs `write` for every user at once; the exit and the seconds each took. */
const together = <A>(write: (user: UserId, i: number) => Effect.Effect<A>) =>
  Effect.forEach(users, (user, i) => {
    const start = Date.now()
    return Effect.map(Effect.exit(write(user, i)), (exit) => ({ exit, seconds: (Date.now() - start) / 1000 }))
  }, { concurrency: "unbounded" })

describe("a user's failure is theirs alone", () => {
  it.scopedLive("a row locked elsewhere fails or delays only its own update, create and delete; the others finish within 1 s", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const context = yield* Layer.build(pgRepositoryOn(url, { queryTimeout: TIMEOUT }))
      const tasks = Context.get(context, TaskRepository)
      const locker = Context.get(yield* Layer.build(pgRepositoryOn(url)), SqlClient.SqlClient)
      const created = yield* Effect.forEach(users, (user) =>
        Effect.flatMap(tasks.create(user, { title: "mine", description: null }, Option.none()), (outcome) =>
          outcome._tag === "Created" ? Effect.succeed(outcome.task) : Effect.dieMessage(outcome._tag)))
      const ids = created.map((task) => task.id)

      /** Holds `lock` in a transaction of another pool while `run` runs. */
      const whileLocked = <A>(lock: Effect.Effect<unknown, unknown>, run: Effect.Effect<A>) =>
        Effect.gen(function*() {
          const locked = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.fork(Effect.orDie(locker.withTransaction(
            lock.pipe(Effect.zipRight(Deferred.succeed(locked, undefined)), Effect.zipRight(Deferred.await(release)))
          )))
          yield* Deferred.await(locked)
          const result = yield* run
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(holder)
          return result
        })

      const expectOnlyFirstStuck = (results: ReadonlyArray<{ readonly exit: Exit.Exit<unknown>; readonly seconds: number }>) => {
        const [first, ...others] = results
        for (const other of others) {
          expect(Exit.isSuccess(other.exit)).toBe(true)
          expect(other.seconds).toBeLessThan(1)
        }
        expect(Exit.isFailure(first!.exit)).toBe(true)
        expect(first!.seconds).toBeGreaterThanOrEqual(Duration.toSeconds(TIMEOUT) - 0.1)
      }

      const lockTask = (id: TaskId) => locker`SELECT 1 FROM tasks WHERE id = ${id} FOR UPDATE`
      const updates = yield* whileLocked(
        lockTask(ids[0]!),
        together((user, i) => tasks.update(user, ids[i]!, { title: "updated" }, Option.none()))
      )
      expectOnlyFirstStuck(updates)
      expect(updates.slice(1).every(({ exit }) => Exit.isSuccess(exit) && exit.value._tag === "Updated")).toBe(true)

      const lockOwner = locker`SELECT 1 FROM users WHERE id = ${users[0]!} FOR UPDATE`
      const creates = yield* whileLocked(
        lockOwner,
        together((user, i) => tasks.create(user, { title: `second ${i}`, description: null }, Option.none()))
      )
      expectOnlyFirstStuck(creates)
      // Skipped in the batch and run alone, the stuck create took nobody else's answer.
      expect(creates.slice(1).map(({ exit }) =>
        Exit.isSuccess(exit) && exit.value._tag === "Created" ? [exit.value.task.user_id, exit.value.task.title] : exit._tag
      )).toEqual(users.slice(1).map((user, i) => [user, `second ${i + 1}`]))

      const deletes = yield* whileLocked(
        lockTask(ids[0]!),
        together((user, i) => tasks.remove(user, ids[i]!, Option.none()))
      )
      expectOnlyFirstStuck(deletes)

      // Rolled back: the stuck writes left no trace.
      const first = yield* tasks.list(users[0]!, { completed: Option.none(), after: 0, limit: Option.none() })
      expect(first.head.map((task) => task.title)).toEqual(["mine"])

      // Released while it waits, the locked update goes through.
      const late = yield* whileLocked(
        lockTask(ids[0]!).pipe(Effect.zipLeft(Effect.sleep("10 millis"))),
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(tasks.update(users[0]!, ids[0]!, { title: "late" }, Option.none()))
          yield* Effect.sleep("300 millis")
          return fiber
        })
      )
      expect((yield* Fiber.join(late))._tag).toBe("Updated")

      // And the create whose owner was locked, once the lock goes.
      const lateCreate = yield* whileLocked(
        lockOwner.pipe(Effect.zipLeft(Effect.sleep("10 millis"))),
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(tasks.create(users[0]!, { title: "late", description: null }, Option.none()))
          yield* Effect.sleep("300 millis")
          return fiber
        })
      )
      const lateOutcome = yield* Fiber.join(lateCreate)
      expect(lateOutcome._tag === "Created" ? [lateOutcome.task.user_id, lateOutcome.task.title] : lateOutcome._tag)
        .toEqual([users[0]!, "late"])
    }), 60_000)
})

describe("bound parameters only", () => {
  it.scopedLive("a title reaches PostgreSQL's log only as a bound parameter, never in a statement's text", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const embedded = yield* Embedded.start({ dataDir })
      // Migrated as the owner; `log_statement` is a superuser's setting; the writes as the service's role.
      yield* Layer.build(pgRepositoryOn(embedded.ownerUrl))
      const admin = Context.get(yield* Layer.build(PgClient.layer({ url: embedded.adminUrl, maxConnections: 1 })), SqlClient.SqlClient)
      yield* admin.unsafe("ALTER DATABASE tasks SET log_statement = 'all'")
      // A new pool: its sessions start with the setting.
      const tasks = Context.get(
        yield* Layer.build(TaskRepositorySql.pipe(
          Layer.provide(pgLayer(embedded.url, { poolSize: 2, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })),
          Layer.orDie
        )),
        TaskRepository
      )
      const marker = `marker-${Date.now()}-'); DROP TABLE tasks; --`
      const created = yield* tasks.create(UserId.make(1), { title: marker, description: marker }, Option.some({ key: marker, fingerprint: marker }))
      expect(created._tag).toBe("Created")
      if (created._tag !== "Created") return
      // Without a key, a create runs another statement (SqlCreate.ts): the same rule holds.
      expect((yield* tasks.create(UserId.make(1), { title: marker, description: marker }, Option.none()))._tag).toBe("Created")
      yield* tasks.update(UserId.make(1), created.task.id, { title: `${marker} 2` }, Option.some({ _tag: "Any" }))
      yield* tasks.list(UserId.make(1), { completed: Option.some(false), after: 0, limit: Option.some(5) })
      yield* tasks.remove(UserId.make(1), created.task.id, Option.some({ _tag: "Versions", updatedAt: [new Date(0)] }))
      const log = yield* Effect.promise(() => Fs.readFile(Path.join(dataDir, "postgres.log"), "utf8"))
      const lines = log.split("\n").filter((line) => line.includes("marker-"))
      expect(lines.length).toBeGreaterThanOrEqual(2)
      for (const line of lines) expect(line).toMatch(/DETAIL: {2}parameters: /)
    }), 120_000)
})
