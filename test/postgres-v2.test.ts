import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Duration, Effect, Layer, Option, Ref, Stream } from "effect"
import { type Task, TaskId, UserId } from "../src/domain/index.ts"
import { BatchObserver } from "../src/repository/Batch.ts"
import { PAGE_BYTES, PAGE_SIZE, REST_PAGE_SIZE } from "../src/repository/SqlList.ts"
import { type CreateOutcome, TaskRepository, type TaskRepositoryShape } from "../src/repository/TaskRepository.ts"
import { everything, versions } from "./support/lists.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { pgRepositoryOn } from "./support/repositories.ts"

/** Version 2 on PostgreSQL: two instances on one database, key expiry, long lists. */
const alice = UserId.make(1)

const twoInstances = Effect.gen(function*() {
  const url = yield* freshDatabaseUrl
  const first = yield* Layer.build(pgRepositoryOn(url))
  const second = yield* Layer.build(pgRepositoryOn(url))
  return {
    instances: [Context.get(first, TaskRepository), Context.get(second, TaskRepository)] as const,
    sql: Context.get(first, SqlClient.SqlClient)
  }
})

const createdTask = (outcome: CreateOutcome): Task => {
  if (outcome._tag !== "Created") throw new Error(`expected Created, got ${outcome._tag}`)
  return outcome.task
}

/**
 * `count` tasks of `owner`, inserted by SQL in one statement, with descriptions of `size` emoji.
 * Seeding may take longer than the role's statement timeout: this transaction lifts it.
 */
const seed = (sql: SqlClient.SqlClient, owner: number, count: number, size: number) =>
  sql.withTransaction(Effect.zipRight(
    sql`SET LOCAL statement_timeout = 0`,
    sql`WITH owner AS (INSERT INTO users (id) VALUES (${owner}) ON CONFLICT DO NOTHING)
        INSERT INTO tasks (user_id, title, description, completed)
        SELECT ${owner}, 'seeded ' || n, repeat('😀', ${size}), n % 3 = 0 FROM generate_series(1, ${count}) AS n`
  ))

describe("two instances on one database", () => {
  it.scopedLive("20 conditional updates with the same version, across two pools: exactly one applies", () =>
    Effect.gen(function*() {
      const { instances } = yield* twoInstances
      const task = createdTask(yield* instances[0].create(alice, { title: "t", description: null }, Option.none()))
      const outcomes = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        instances[i % 2]!.update(alice, task.id, { title: `by ${i}` }, versions(task)), { concurrency: "unbounded" })
      expect(outcomes.filter((outcome) => outcome._tag === "Updated")).toHaveLength(1)
      expect(outcomes.filter((outcome) => outcome._tag === "PreconditionFailed")).toHaveLength(19)
    }))

  it.scopedLive("20 creates with one key, across two pools: one task, every other answer replays it or is KeyInUse", () =>
    Effect.gen(function*() {
      const { instances } = yield* twoInstances
      const outcomes = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        instances[i % 2]!.create(alice, { title: "once", description: "d" }, Option.some({ key: "k", fingerprint: "f" })), {
        concurrency: "unbounded"
      })
      const listed = (yield* instances[1].list(alice, everything)).head
      expect(listed).toHaveLength(1)
      expect(outcomes.filter((outcome) => outcome._tag === "Created")).toHaveLength(1)
      for (const outcome of outcomes) {
        if (outcome._tag !== "KeyInUse") expect(outcome).toEqual({ _tag: outcome._tag, task: listed[0] })
      }
    }))
})

describe("creates with and without keys in one batch", () => {
  it.scopedLive("each gets its own task, and a keyed one replays it when sent again", () =>
    Effect.gen(function*() {
      const batches: Array<number> = []
      const observed = Layer.succeed(BatchObserver, { traced: false, sized: (size) => void batches.push(size) })
      const tasks = Context.get(
        yield* Layer.build(pgRepositoryOn(yield* freshDatabaseUrl).pipe(Layer.provide(observed))),
        TaskRepository
      )
      const owners = [1, 2, 3, 4, 5, 6].map((n) => UserId.make(n))
      // Sent at once: one batch, so one statement (the keyed one) for all six.
      const create = (owner: UserId, i: number) =>
        tasks.create(owner, { title: `task ${i}`, description: i % 3 === 0 ? null : `about ${i}` },
          i % 2 === 0 ? Option.some({ key: `key ${i}`, fingerprint: `fingerprint ${i}` }) : Option.none())
      const first = (yield* Effect.all(owners.map(create), { concurrency: "unbounded" })).map(createdTask)
      expect(batches).toEqual([6])
      expect(first.map((task) => [task.user_id, task.title, task.description])).toEqual(
        owners.map((owner, i) => [owner, `task ${i}`, i % 3 === 0 ? null : `about ${i}`])
      )
      expect(new Set(first.map((task) => task.id)).size).toBe(owners.length)
      const again = yield* Effect.all(owners.map(create), { concurrency: "unbounded" })
      expect(again.map((outcome, i) =>
        outcome._tag === "Replayed" || outcome._tag === "Created" ? [outcome._tag, outcome.task.id === first[i]!.id] : outcome._tag
      )).toEqual(owners.map((_, i) => i % 2 === 0 ? ["Replayed", true] : ["Created", false]))
    }))
})

describe("idempotency keys expire", () => {
  it.scopedLive("after 24 h a key creates a new task, and the service deletes expired keys itself", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const context = yield* Layer.build(pgRepositoryOn(url))
      const tasks = Context.get(context, TaskRepository)
      const sql = Context.get(context, SqlClient.SqlClient)
      const key = Option.some({ key: "daily", fingerprint: "f" })
      const first = createdTask(yield* tasks.create(alice, { title: "a", description: null }, key))
      expect(yield* tasks.create(alice, { title: "a", description: null }, key)).toEqual({ _tag: "Replayed", task: first })
      yield* sql`UPDATE idempotency_keys SET stored_at = stored_at - interval '25 hours'`
      const second = createdTask(yield* tasks.create(alice, { title: "a", description: null }, key))
      expect(second.id).not.toBe(first.id)
      expect(yield* tasks.create(alice, { title: "a", description: null }, key)).toEqual({ _tag: "Replayed", task: second })
      // An expired key with no repeat stays until the sweep, which runs when an instance starts.
      yield* tasks.create(alice, { title: "b", description: null }, Option.some({ key: "old", fingerprint: "f" }))
      yield* sql`UPDATE idempotency_keys SET stored_at = stored_at - interval '25 hours' WHERE key = 'old'`
      yield* Layer.build(pgRepositoryOn(url))
      yield* Effect.sleep("500 millis")
      const left = yield* sql<{ key: string }>`SELECT key FROM idempotency_keys ORDER BY key`
      expect(left.map((row) => row.key)).toEqual(["daily"])
    }))
})

describe("long lists", () => {
  it.scopedLive("paging 10,000 tasks by 100 while tasks come and go: every task there throughout is seen once, in order", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const context = yield* Layer.build(pgRepositoryOn(url))
      const tasks = Context.get(context, TaskRepository)
      yield* seed(Context.get(context, SqlClient.SqlClient), alice, 10_000, 1)
      const before = (yield* collectAll(tasks)).map((task) => task.id)
      expect(before).toHaveLength(10_000)
      const touched = yield* Ref.make(new Set<number>())
      const churn = Effect.gen(function*() {
        for (let i = 0; ; i++) {
          const made = createdTask(yield* tasks.create(alice, { title: `new ${i}`, description: null }, Option.none()))
          const victim = TaskId.make(before[(i * 97) % before.length]!)
          yield* tasks.remove(alice, victim, Option.none())
          yield* Ref.update(touched, (set) => set.add(made.id).add(victim))
        }
      })
      const seen: Array<number> = []
      yield* Effect.raceFirst(
        Effect.gen(function*() {
          let after = 0
          for (;;) {
            const page = yield* tasks.list(alice, { completed: Option.none(), after, limit: Option.some(100) })
            seen.push(...page.head.map((task) => task.id))
            if (!page.hasMore) return
            after = page.head[page.head.length - 1]!.id
          }
        }),
        Effect.zipRight(churn, Effect.never)
      )
      const gone = yield* Ref.get(touched)
      expect(gone.size).toBeGreaterThan(0)
      expect(seen).toEqual([...seen].sort((a, b) => a - b))
      expect(new Set(seen).size).toBe(seen.length)
      const stayed = before.filter((id) => !gone.has(id))
      const seenSet = new Set(seen)
      expect(stayed.filter((id) => !seenSet.has(id))).toEqual([])
    }), 120_000)

  it.scopedLive("20,000 maximal tasks without a limit: a version first, then pages read only as they are pulled", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      // Seeding takes long: a pool that waits for it, built before the repository's (whose
      // timeout then becomes the role's again).
      const seeder = Context.get(yield* Layer.build(pgRepositoryOn(url, { queryTimeout: Duration.minutes(2) })), SqlClient.SqlClient)
      yield* seed(seeder, alice, 20_000, 5000)
      const context = yield* Layer.build(pgRepositoryOn(url))
      const tasks = Context.get(context, TaskRepository)
      const sql = Context.get(context, SqlClient.SqlClient)
      const list = yield* tasks.list(alice, everything)
      expect(list.head).toHaveLength(PAGE_SIZE)
      expect(list.head[0]!.description).toBe("😀".repeat(5000))
      expect(list.version).toBe((yield* tasks.list(alice, everything)).version)
      const rest = Option.getOrThrow(list.rest)
      const pull = yield* Stream.toPull(rest)
      // Pages of maximal tasks are cut by bytes: the rows before a page's last hold less than
      // PAGE_BYTES of text, all of them at least that.
      const bytes = (tasks: ReadonlyArray<Task>) =>
        tasks.reduce((sum, task) => sum + Buffer.byteLength(task.title) + Buffer.byteLength(task.description ?? ""), 0)
      let pulled = 0
      for (let page = 0; page < 3; page++) {
        const tasks = Chunk.toReadonlyArray(yield* pull)
        expect(tasks.length).toBeLessThan(REST_PAGE_SIZE)
        expect(bytes(tasks.slice(0, -1))).toBeLessThan(PAGE_BYTES)
        expect(bytes(tasks)).toBeGreaterThanOrEqual(PAGE_BYTES)
        pulled += tasks.length
      }
      // Everything not yet pulled goes: a stream that had read ahead would still hand it out.
      const last = list.head.length + pulled
      yield* sql`DELETE FROM tasks WHERE user_id = ${alice} AND id > (SELECT id FROM tasks WHERE user_id = ${alice} ORDER BY id OFFSET ${last - 1} LIMIT 1)`
      const remaining = yield* Stream.runCount(Stream.fromPull(Effect.succeed(pull)))
      expect(remaining).toBe(0)
      // And the list's version saw it.
      expect((yield* tasks.list(alice, everything)).version).not.toBe(list.version)
    }), 180_000)
})

const collectAll = (tasks: TaskRepositoryShape) =>
  Effect.flatMap(tasks.list(alice, everything), (list) =>
    Option.match(list.rest, {
      onNone: () => Effect.succeed(list.head),
      onSome: (rest) => Effect.map(Stream.runCollect(rest), (more) => [...list.head, ...Chunk.toReadonlyArray(more)])
    }))
