import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TaskApiClient, TaskId, UserId } from "../src/client.ts"
import { FailingRepository } from "./support/failing.ts"
import { serve } from "./support/http.ts"

/** Another Effect program's view: the derived client against a running server. */
describe("typed client", () => {
  it.scopedLive("creates, reads, updates, lists and deletes through the derived client", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
      const user_id = UserId.make(42)
      const created = yield* client.tasks.create({ path: { user_id }, headers: {}, payload: { title: "from the client", description: null } })
      expect(created).toMatchObject({ title: "from the client", user_id: 42, completed: false })
      expect(created.created_at).toBeInstanceOf(Date)
      const got = yield* client.tasks.get({ path: { user_id, task_id: created.id }, headers: {} })
      expect(got).toEqual(created)
      const updated = yield* client.tasks.update({ path: { user_id, task_id: created.id }, headers: {}, payload: { completed: true } })
      expect(updated.completed).toBe(true)
      expect(yield* client.tasks.list({ path: { user_id }, urlParams: {}, headers: {} })).toEqual([updated])
      expect(yield* client.tasks.delete({ path: { user_id, task_id: created.id }, headers: {} })).toEqual({
        message: "Task deleted successfully"
      })
      expect(yield* client.health.ready()).toEqual({ status: "ok" })
    }))

  it.scopedLive("a missing task fails with TaskNotFound, caught by its tag", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
      const outcome = yield* client.tasks.get({ path: { user_id: UserId.make(1), task_id: TaskId.make(12345) }, headers: {} }).pipe(
        Effect.map(() => "found"),
        Effect.catchTag("TaskNotFound", (error) => Effect.succeed(`not found: ${error.message}`))
      )
      expect(outcome).toBe("not found: Task not found")
    }))

  it.scopedLive("a 500 from the server decodes to InternalError, caught by its tag", () =>
    Effect.gen(function*() {
      const base = yield* serve(FailingRepository)
      const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
      const error = yield* Effect.flip(client.tasks.list({ path: { user_id: UserId.make(1) }, urlParams: {}, headers: {} }))
      expect(error._tag).toBe("InternalError")
      expect(error._tag === "InternalError" ? error.message : "").toBe("Internal server error")
    }))
})
