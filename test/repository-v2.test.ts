import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { type Task, TaskId, UserId } from "../src/domain/index.ts"
import { type ListQuery, TaskRepository } from "../src/repository/TaskRepository.ts"
import { TaskRepositoryMemory } from "../src/repository/TaskRepositoryMemory.ts"
import { everything, versions } from "./support/lists.ts"
import { repositories } from "./support/repositories.ts"

/** The version 2 rules (lists, preconditions, idempotency keys) on every repository layer. */
const alice = UserId.make(1)
const bob = UserId.make(2)

const created = (outcome: { readonly _tag: string; readonly task?: Task }): Task => {
  if (outcome._tag !== "Created" || outcome.task === undefined) throw new Error(`expected Created, got ${outcome._tag}`)
  return outcome.task
}

const query = (fields: Partial<ListQuery>): ListQuery => ({ ...everything, ...fields })

for (const [name, layer] of repositories) {
  describe(`TaskRepository v2 (${name})`, () => {
    const run = <A, E>(test: Effect.Effect<A, E, TaskRepository>) => Effect.provide(test, layer)
    const make = (tasks: typeof TaskRepository.Service, owner: UserId, title: string) =>
      Effect.map(tasks.create(owner, { title, description: null }, Option.none()), created)

    it.live("lists filter by state, start after an id, stop at a limit and say whether more follow", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const all = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => make(tasks, alice, `t${i}`))
        yield* make(tasks, bob, "other")
        const done = yield* Effect.forEach([all[1]!, all[3]!], (task) =>
          Effect.map(tasks.update(alice, task.id, { completed: true }, Option.none()), (outcome) =>
            outcome._tag === "Updated" ? outcome.task : task))
        const open = [all[0]!, all[2]!, all[4]!]
        expect((yield* tasks.list(alice, query({ completed: Option.some(true) }))).head).toEqual(done)
        expect((yield* tasks.list(alice, query({ completed: Option.some(false) }))).head).toEqual(open)
        const first = yield* tasks.list(alice, query({ limit: Option.some(2) }))
        expect([first.head.map((task) => task.id), first.hasMore]).toEqual([[all[0]!.id, all[1]!.id], true])
        const second = yield* tasks.list(alice, query({ limit: Option.some(2), after: all[1]!.id }))
        expect(second.head.map((task) => task.id)).toEqual([all[2]!.id, all[3]!.id])
        // A page that ends exactly at the last task says no more follow.
        const last = yield* tasks.list(alice, query({ limit: Option.some(1), after: all[3]!.id }))
        expect([last.head.map((task) => task.id), last.hasMore]).toEqual([[all[4]!.id], false])
        const openPage = yield* tasks.list(alice, query({ limit: Option.some(1), completed: Option.some(false), after: all[0]!.id }))
        expect([openPage.head, openPage.hasMore]).toEqual([[all[2]], true])
        expect((yield* tasks.list(alice, query({ after: all[4]!.id }))).head).toEqual([])
        const whole = yield* tasks.list(alice, everything)
        expect(Option.isNone(whole.rest)).toBe(true)
        expect(whole.head.map((task) => task.id)).toEqual(all.map((task) => task.id))
      })))

    it.live("a list's version is equal while nothing changes, and changes when a task changes, is added or removed", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const version = (q: ListQuery = everything) => Effect.map(tasks.list(alice, q), (list) => list.version)
        const empty = yield* version()
        const a = yield* make(tasks, alice, "a")
        const b = yield* make(tasks, alice, "b")
        const seen = new Set([empty])
        const two = yield* version()
        expect(yield* version()).toBe(two)
        expect(two).toMatch(/^[a-z0-9]+$/)
        seen.add(two)
        yield* make(tasks, bob, "not in the list")
        expect(yield* version()).toBe(two)
        yield* tasks.update(alice, a.id, { title: "a2" }, Option.none())
        const changed = yield* version()
        expect(seen.has(changed)).toBe(false)
        seen.add(changed)
        // Setting a value it already has is not a change.
        yield* tasks.update(alice, a.id, { title: "a2" }, Option.none())
        expect(yield* version()).toBe(changed)
        const c = yield* make(tasks, alice, "c")
        const added = yield* version()
        expect(seen.has(added)).toBe(false)
        seen.add(added)
        yield* tasks.remove(alice, c.id, Option.none())
        // The same content as before c was added: the same version.
        expect(yield* version()).toBe(changed)
        // A page's version moves when a task after it appears (its Link changes).
        const page = yield* version(query({ limit: Option.some(2) }))
        yield* tasks.remove(alice, b.id, Option.none())
        yield* make(tasks, alice, "d")
        yield* make(tasks, alice, "e")
        expect(yield* version(query({ limit: Option.some(2) }))).not.toBe(page)
      })))

    it.live("If-Match: a stale version fails and changes nothing; a listed or any version applies; {} is checked too", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const task = yield* make(tasks, alice, "t")
        const moved = yield* tasks.update(alice, task.id, { title: "t2" }, versions(task))
        expect(moved._tag).toBe("Updated")
        const current = moved._tag === "Updated" ? moved.task : task
        expect(yield* tasks.update(alice, task.id, { title: "lost" }, versions(task))).toEqual({ _tag: "PreconditionFailed" })
        expect(yield* tasks.update(alice, task.id, {}, versions(task))).toEqual({ _tag: "PreconditionFailed" })
        expect(yield* tasks.update(alice, task.id, {}, versions(current))).toEqual({ _tag: "Updated", task: current })
        expect(yield* tasks.get(alice, task.id)).toEqual(Option.some(current))
        const either = yield* tasks.update(alice, task.id, { completed: true }, versions(task, current))
        expect(either._tag).toBe("Updated")
        const any = yield* tasks.update(alice, task.id, { title: "any" }, Option.some({ _tag: "Any" }))
        expect(any._tag).toBe("Updated")
        // Another owner's task is missing, never a failed precondition.
        expect(yield* tasks.update(bob, task.id, { title: "x" }, versions(task))).toEqual({ _tag: "NotFound" })
        expect(yield* tasks.update(bob, task.id, {}, versions(task))).toEqual({ _tag: "NotFound" })
        expect(yield* tasks.update(alice, TaskId.make(2_147_483_647), { title: "x" }, Option.some({ _tag: "Any" })))
          .toEqual({ _tag: "NotFound" })
      })))

    it.live("conditional deletes: stale fails and keeps the task, current or any deletes, foreign is missing", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const task = yield* make(tasks, alice, "t")
        const moved = yield* tasks.update(alice, task.id, { title: "t2" }, Option.none())
        const current = moved._tag === "Updated" ? moved.task : task
        expect(yield* tasks.remove(alice, task.id, versions(task))).toBe("PreconditionFailed")
        expect(yield* tasks.remove(bob, task.id, versions(current))).toBe("NotFound")
        expect(Option.isSome(yield* tasks.get(alice, task.id))).toBe(true)
        expect(yield* tasks.remove(alice, task.id, versions(task, current))).toBe("Deleted")
        expect(yield* tasks.remove(alice, task.id, Option.some({ _tag: "Any" }))).toBe("NotFound")
        const other = yield* make(tasks, alice, "o")
        expect(yield* tasks.remove(alice, other.id, Option.some({ _tag: "Any" }))).toBe("Deleted")
      })))

    it.live("20 concurrent updates with the same If-Match: exactly one applies", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const task = yield* make(tasks, alice, "t")
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => tasks.update(alice, task.id, { title: `by ${i}` }, versions(task)),
          { concurrency: "unbounded" }
        )
        const winners = outcomes.filter((outcome) => outcome._tag === "Updated")
        expect(winners).toHaveLength(1)
        expect(outcomes.filter((outcome) => outcome._tag === "PreconditionFailed")).toHaveLength(19)
        expect(yield* tasks.get(alice, task.id)).toEqual(Option.some(winners[0]!.task))
      })))

    it.live("idempotency keys: a repeat replays the task as created, a new body is refused, users never meet", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const key = (fingerprint: string) => Option.some({ key: "k-1", fingerprint })
        const first = created(yield* tasks.create(alice, { title: "once", description: null }, key("f")))
        yield* tasks.update(alice, first.id, { title: "changed since" }, Option.none())
        expect(yield* tasks.create(alice, { title: "once", description: null }, key("f"))).toEqual({ _tag: "Replayed", task: first })
        expect(yield* tasks.create(alice, { title: "other", description: null }, key("g"))).toEqual({ _tag: "KeyReused" })
        // Still replayed after the task is gone: the answer is the first one.
        yield* tasks.remove(alice, first.id, Option.none())
        expect(yield* tasks.create(alice, { title: "once", description: null }, key("f"))).toEqual({ _tag: "Replayed", task: first })
        const bobs = yield* tasks.create(bob, { title: "once", description: null }, key("f"))
        expect(bobs._tag).toBe("Created")
        expect((yield* tasks.list(alice, everything)).head).toEqual([])
        expect((yield* tasks.list(bob, everything)).head).toHaveLength(1)
      })))

    it.live("20 concurrent creates with one key: one task, every answer that task (or KeyInUse)", () =>
      run(Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          () => tasks.create(alice, { title: "once", description: null }, Option.some({ key: "same", fingerprint: "f" })),
          { concurrency: "unbounded" }
        )
        const listed = (yield* tasks.list(alice, everything)).head
        expect(listed).toHaveLength(1)
        expect(outcomes.filter((outcome) => outcome._tag === "Created")).toEqual([{ _tag: "Created", task: listed[0] }])
        for (const outcome of outcomes) {
          if (outcome._tag !== "KeyInUse") expect(outcome).toEqual({ _tag: outcome._tag, task: listed[0] })
        }
      })))
  })
}

describe("TaskRepository v2 (memory): keys expire by the clock", () => {
  it.effect("a key replays for 24 h, then creates a new task", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskRepository
      const key = Option.some({ key: "daily", fingerprint: "f" })
      const first = created(yield* tasks.create(alice, { title: "a", description: null }, key))
      yield* TestClock.adjust("23 hours")
      expect(yield* tasks.create(alice, { title: "a", description: null }, key)).toEqual({ _tag: "Replayed", task: first })
      yield* TestClock.adjust("2 hours")
      const second = created(yield* tasks.create(alice, { title: "a", description: null }, key))
      expect(second.id).not.toBe(first.id)
      expect(yield* tasks.create(alice, { title: "a", description: null }, key)).toEqual({ _tag: "Replayed", task: second })
    }).pipe(Effect.provide(TaskRepositoryMemory)))
})
