import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { type CreateTask, type Task, TaskId, type UpdateTask, UserId } from "../src/domain/index.ts"
import { TaskRepository } from "../src/repository/TaskRepository.ts"
import { everything } from "./support/lists.ts"
import { repositories } from "./support/repositories.ts"

/** Version 1 calls on the version 2 interface: no key, no precondition, the whole list. */
const v1 = Effect.map(TaskRepository, (tasks) => ({
  ...tasks,
  create: (owner: UserId, input: CreateTask) =>
    Effect.map(tasks.create(owner, input, Option.none()), (outcome) => {
      if (outcome._tag !== "Created") throw new Error(`expected Created, got ${outcome._tag}`)
      return outcome.task
    }),
  update: (owner: UserId, id: TaskId, patch: UpdateTask) =>
    Effect.map(tasks.update(owner, id, patch, Option.none()), (outcome) =>
      outcome._tag === "Updated" ? Option.some(outcome.task) : Option.none<Task>()),
  remove: (owner: UserId, id: TaskId) => Effect.map(tasks.remove(owner, id, Option.none()), (outcome) => outcome === "Deleted"),
  list: (owner: UserId) => Effect.map(tasks.list(owner, everything), (list) => list.head)
}))

/**
 * One contract, run against every repository layer, so the in-memory one that tests use
 * cannot drift from the PostgreSQL one that production uses. Each test builds its layer
 * afresh (a new database for PostgreSQL).
 */
const alice = UserId.make(1)
const bob = UserId.make(2)
const missing = TaskId.make(2_147_483_647)

for (const [name, layer] of repositories) {
  describe(`TaskRepository (${name})`, () => {
    const run = <A, E>(test: Effect.Effect<A, E, TaskRepository>) => Effect.provide(test, layer)

    it.live("create returns the stored task; get returns exactly it", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const created = yield* tasks.create(alice, { title: "t", description: "d" })
        expect(created).toMatchObject({ title: "t", description: "d", completed: false, user_id: alice })
        expect(created.updated_at).toEqual(created.created_at)
        expect(created.created_at.getTime() % 1).toBe(0)
        expect(yield* tasks.get(alice, created.id)).toEqual(Option.some(created))
      })))

    it.live("list is per owner, ordered by id, [] for an unknown owner", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        expect(yield* tasks.list(alice)).toEqual([])
        const a = yield* tasks.create(alice, { title: "a", description: null })
        const b = yield* tasks.create(bob, { title: "b", description: null })
        const c = yield* tasks.create(alice, { title: "c", description: null })
        expect(yield* tasks.list(alice)).toEqual([a, c])
        expect(yield* tasks.list(bob)).toEqual([b])
      })))

    it.live("another owner's task is absent for get, update and remove, and stays untouched", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const created = yield* tasks.create(alice, { title: "mine", description: null })
        expect(yield* tasks.get(bob, created.id)).toEqual(Option.none())
        expect(yield* tasks.update(bob, created.id, { title: "stolen" })).toEqual(Option.none())
        expect(yield* tasks.remove(bob, created.id)).toBe(false)
        expect(yield* tasks.get(alice, created.id)).toEqual(Option.some(created))
      })))

    it.live("update applies present fields only; null description clears; {} changes nothing", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const created = yield* tasks.create(alice, { title: "t", description: "d" })
        expect(yield* tasks.update(alice, created.id, {})).toEqual(Option.some(created))
        const done = Option.getOrThrow(yield* tasks.update(alice, created.id, { completed: true }))
        expect(done).toMatchObject({ title: "t", description: "d", completed: true })
        expect(done.updated_at.getTime()).toBeGreaterThan(created.updated_at.getTime())
        expect(done.created_at).toEqual(created.created_at)
        const cleared = Option.getOrThrow(yield* tasks.update(alice, created.id, { description: null }))
        expect(cleared).toMatchObject({ title: "t", description: null, completed: true })
        expect(cleared.updated_at.getTime()).toBeGreaterThan(done.updated_at.getTime())
        // Setting a field to the value it has is not a change.
        const same = Option.getOrThrow(yield* tasks.update(alice, created.id, { completed: true }))
        expect(same).toEqual(cleared)
        expect(yield* tasks.get(alice, created.id)).toEqual(Option.some(cleared))
        expect(yield* tasks.update(alice, missing, { title: "x" })).toEqual(Option.none())
      })))

    it.live("remove deletes once", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const created = yield* tasks.create(alice, { title: "t", description: null })
        expect(yield* tasks.remove(alice, created.id)).toBe(true)
        expect(yield* tasks.remove(alice, created.id)).toBe(false)
        expect(yield* tasks.get(alice, created.id)).toEqual(Option.none())
      })))

    it.live("text round-trips exactly through create and update: quotes, escapes, SQL, markup, emoji, 500 code points", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const title = "😀".repeat(500)
        const description = "'; DROP TABLE tasks; -- \"x\" <script>1</script> \\ é \u2028 " + "ж".repeat(4000)
        const created = yield* tasks.create(alice, { title, description })
        expect(created).toMatchObject({ title, description })
        expect(yield* tasks.get(alice, created.id)).toEqual(Option.some(created))
        // What a literal-quoting or JSON bug would mangle: quotes, backslashes, escape-looking text.
        const tricky = "E'\\' '' \\' \\\\ \\u0041 \\n \t\n\r \u0001\u001f \"\\\" $$ $1 }]} é"
        const updated = yield* tasks.update(alice, created.id, { title: tricky, description: tricky })
        expect(Option.map(updated, (task) => [task.title, task.description])).toEqual(Option.some([tricky, tricky]))
        expect(yield* tasks.get(alice, created.id)).toEqual(updated)
      })))

    it.live("ids are distinct across owners and the largest owner id works", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const big = UserId.make(2_147_483_647)
        const created = yield* Effect.all([
          tasks.create(alice, { title: "1", description: null }),
          tasks.create(big, { title: "2", description: null }),
          tasks.create(bob, { title: "3", description: null })
        ], { concurrency: "unbounded" })
        expect(new Set(created.map((task) => task.id)).size).toBe(3)
        expect((yield* tasks.list(big)).map((task) => task.title)).toEqual(["2"])
      })))

    it.live("concurrent reads of many owners each see exactly their own tasks", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const owners = Array.from({ length: 12 }, (_, i) => UserId.make(100 + i))
        const created = yield* Effect.forEach(owners, (owner) =>
          Effect.all([
            tasks.create(owner, { title: `${owner} a`, description: null }),
            tasks.create(owner, { title: `${owner} b`, description: null })
          ]))
        // All in flight at once: a store that groups concurrent lookups must still answer
        // each one for its own owner only.
        const lists = yield* Effect.forEach(owners, (owner) => tasks.list(owner), { concurrency: "unbounded" })
        expect(lists).toEqual(created)
        const gets = yield* Effect.forEach(
          created.flatMap((pair, i) => [
            [owners[i]!, pair[0].id] as const,
            [owners[(i + 1) % owners.length]!, pair[1].id] as const
          ]),
          ([owner, id]) => tasks.get(owner, id),
          { concurrency: "unbounded" }
        )
        gets.forEach((found, n) => {
          const [i, which] = [Math.floor(n / 2), n % 2]
          if (which === 0) expect(found).toEqual(Option.some(created[i]![0]))
          else expect(found).toEqual(Option.none())
        })
        expect(yield* Effect.all([tasks.list(owners[0]!), tasks.list(owners[0]!)], { concurrency: 2 })).toEqual([
          created[0],
          created[0]
        ])
      })))

    it.live("concurrent creates, identical ones included, each come back once, for their own owner", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const requests = Array.from({ length: 30 }, (_, i) => ({
          owner: UserId.make(200 + (i % 3)),
          input: { title: i % 2 === 0 ? "same" : `task ${i}`, description: i % 4 === 0 ? null : "same" }
        }))
        const created = yield* Effect.forEach(requests, ({ input, owner }) => tasks.create(owner, input), {
          concurrency: "unbounded"
        })
        created.forEach((task, i) => {
          expect(task).toMatchObject({ user_id: requests[i]!.owner, ...requests[i]!.input, completed: false })
        })
        expect(new Set(created.map((task) => task.id)).size).toBe(30)
        for (const owner of [200, 201, 202]) {
          const listed = yield* tasks.list(UserId.make(owner))
          expect(listed.map((task) => task.id)).toEqual(
            created.filter((task) => task.user_id === owner).map((task) => task.id).sort((a, b) => a - b)
          )
        }
      })))

    it.live("concurrent updates of many tasks, and of one task, each apply whole to their own task", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        const mine = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) =>
          tasks.create(alice, { title: `t${i}`, description: "d" }))
        const updates = [
          ...mine.map((task, i) => [alice, task.id, { title: `new ${i}`, completed: true }] as const),
          // Someone else's id, in the same breath: absent, and nothing changes.
          ...mine.map((task) => [bob, task.id, { title: "stolen" }] as const),
          // The same task three times at once: applied one after the other.
          ...[1, 2, 3].map((n) => [alice, mine[0]!.id, { description: `d${n}` }] as const)
        ]
        const results = yield* Effect.forEach(updates, ([owner, id, patch]) => tasks.update(owner, id, patch), {
          concurrency: "unbounded"
        })
        results.slice(0, 8).forEach((found, i) =>
          expect(Option.getOrThrow(found)).toMatchObject({ id: mine[i]!.id, title: `new ${i}`, completed: true })
        )
        results.slice(8, 16).forEach((found) => expect(found).toEqual(Option.none()))
        const final = Option.getOrThrow(yield* tasks.get(alice, mine[0]!.id))
        expect(["d1", "d2", "d3"]).toContain(final.description)
        expect(final.title).toBe("new 0")
        expect((yield* tasks.list(alice)).map((task) => task.title)).toEqual(mine.map((_, i) => `new ${i}`))
      })))

    it.live("ping succeeds on a working store", () =>
      run(Effect.gen(function*() {
        const tasks = yield* v1
        yield* tasks.ping
      })))
  })
}
