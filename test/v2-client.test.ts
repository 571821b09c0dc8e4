import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { etagOf, nextAfter, type Task, TaskApiClient, UserId } from "../src/client.ts"
import { serve } from "./support/http.ts"
import { repositories } from "./support/repositories.ts"
import { seed } from "./support/v2.ts"

/**
 * The typed client's version 2 features, as a program using it would write them (the README
 * shows the same loops): every page by the `Link` cursor, a conditional update by the `ETag`,
 * and the new answers as tagged errors.
 */

const user_id = UserId.make(21)

/** Every task of the user, page by page, following `Link` until there is none. */
const readAll = (limit: number) =>
  Effect.gen(function*() {
    const client = yield* TaskApiClient
    const all: Array<Task> = []
    let after = 0
    for (;;) {
      const [page, response] = yield* client.tasks.list({ path: { user_id }, urlParams: { limit, after }, headers: {}, withResponse: true })
      all.push(...page)
      const next = nextAfter(response)
      if (Option.isNone(next)) return all
      after = next.value
    }
  })

for (const [name, layer] of repositories) {
  describe(`typed client, version 2 (${name})`, () => {
    it.scopedLive("reads every page by nextAfter, each task once and in order", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, user_id, 23)
        const client = TaskApiClient.layer(base)
        for (const limit of [1, 5, 23, 100]) {
          const all = yield* Effect.provide(readAll(limit), client)
          expect({ limit, ids: all.map((task) => task.id) }).toEqual({ limit, ids: tasks.map((task) => task.id) })
        }
      }))

    it.scopedLive("a conditional update by etagOf; a stale tag fails with PreconditionFailed, caught by its tag", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
        const created = yield* client.tasks.create({ path: { user_id }, headers: {}, payload: { title: "edit me", description: null } })
        const path = { user_id, task_id: created.id }
        const [current, response] = yield* client.tasks.get({ path, headers: {}, withResponse: true })
        const tag = etagOf(response)
        expect(Option.isSome(tag)).toBe(true)
        const updated = yield* client.tasks.update({ path, headers: { "if-match": Option.getOrUndefined(tag) }, payload: { completed: true } })
        expect(updated).toMatchObject({ id: current.id, completed: true })
        // The same tag again: the task moved on, so the write is refused and nothing changes.
        const outcome = yield* client.tasks.update({ path, headers: { "if-match": Option.getOrUndefined(tag) }, payload: { title: "lost" } }).pipe(
          Effect.map(() => "applied"),
          Effect.catchTag("PreconditionFailed", (error) => Effect.succeed(`refused: ${error.message}`))
        )
        expect(outcome).toBe("refused: The task has changed since the version named in If-Match")
        expect(yield* client.tasks.get({ path, headers: {} })).toEqual(updated)
        // If-None-Match with the current tag: NotModified, by its tag too.
        const [, latest] = yield* client.tasks.get({ path, headers: {}, withResponse: true })
        const revalidated = yield* client.tasks.get({ path, headers: { "if-none-match": Option.getOrUndefined(etagOf(latest)) } }).pipe(
          Effect.map(() => "changed"),
          Effect.catchTag("NotModified", () => Effect.succeed("not modified"))
        )
        expect(revalidated).toBe("not modified")
      }))

    it.scopedLive("an Idempotency-Key replays through the client; another body fails with IdempotencyKeyReused", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
        const headers = { "idempotency-key": "client-key" }
        const first = yield* client.tasks.create({ path: { user_id }, headers, payload: { title: "once", description: null } })
        const again = yield* client.tasks.create({ path: { user_id }, headers, payload: { title: "once", description: null } })
        expect(again).toEqual(first)
        const reused = yield* client.tasks.create({ path: { user_id }, headers, payload: { title: "twice", description: null } }).pipe(
          Effect.map(() => "created"),
          Effect.catchTag("IdempotencyKeyReused", (error) => Effect.succeed(`reused: ${error.message}`))
        )
        expect(reused).toBe("reused: This Idempotency-Key was used with a different request body")
        expect(yield* client.tasks.list({ path: { user_id }, urlParams: {}, headers: {} })).toEqual([first])
      }))
  })
}
