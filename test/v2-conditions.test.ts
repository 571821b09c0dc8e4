import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { asError, asTask, serve } from "./support/http.ts"
import { repositories } from "./support/repositories.ts"
import { create, get, header, list, remove, strongTag, update } from "./support/v2.ts"

/**
 * CONTRACT "Version 2: conditional requests", black-box, on every repository: the task's
 * strong `ETag`, `If-None-Match` → 304, `If-Match` → 412 with nothing changed, concurrent
 * conditional writes, and `Cache-Control` on answers and errors.
 */

const weak = (tag: string) => `W/${tag}`

for (const [name, layer] of repositories) {
  describe(`conditional requests (${name})`, () => {
    it.scopedLive("POST, GET and PUT carry the task's strong ETag; it changes when and only when the task does", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "t", description: "d" })
        const tag = header(created, "etag")!
        expect(tag).toMatch(strongTag)
        const task = asTask(created)
        const read = yield* get(base, 1, task.id)
        expect(read.headers["etag"]).toBe(tag)
        // PUTs that change nothing: the same tag, and the same task.
        for (const same of [{}, { title: "t" }, { description: "d", completed: false }]) {
          const unchanged = yield* update(base, 1, task.id, same)
          expect(unchanged.status).toBe(200)
          expect(unchanged.headers["etag"]).toBe(tag)
          expect(unchanged.json).toEqual(created.json)
        }
        // Every real change: a new tag, the one a later GET shows.
        const seen = new Set([tag])
        for (const change of [{ completed: true }, { description: null }, { title: "t2" }, { completed: false }]) {
          const changed = yield* update(base, 1, task.id, change)
          const next = header(changed, "etag")!
          expect(next).toMatch(strongTag)
          expect(seen.has(next)).toBe(false)
          seen.add(next)
          expect((yield* get(base, 1, task.id)).headers["etag"]).toBe(next)
        }
      }))

    it.scopedLive("GET with If-None-Match naming the current tag is a 304 without a body", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const task = asTask(yield* create(base, 1, { title: "t" }))
        const tag = header(yield* get(base, 1, task.id), "etag")!
        for (const value of [tag, weak(tag), `"x", ${tag}`, `${tag} , "y"`]) {
          const answer = yield* get(base, 1, task.id, { "if-none-match": value })
          expect({ value, status: answer.status, text: answer.text }).toEqual({ value, status: 304, text: "" })
          expect(answer.headers["etag"]).toBe(tag)
          expect(answer.headers["cache-control"]).toBe("private, no-cache")
          expect(answer.headers["content-type"]).toBeUndefined()
        }
        expect((yield* get(base, 1, task.id, { "if-none-match": "\"stale\"" })).status).toBe(200)
        const changed = yield* update(base, 1, task.id, { title: "new" })
        const after = yield* get(base, 1, task.id, { "if-none-match": tag })
        expect(after.status).toBe(200)
        expect(after.json).toEqual(changed.json)
        // Still 404 for a missing or another user's task, whatever the tag.
        expect((yield* get(base, 2, task.id, { "if-none-match": header(changed, "etag")! })).status).toBe(404)
        expect((yield* get(base, 1, 2147483647, { "if-none-match": "*" })).status).toBe(404)
      }))

    it.scopedLive("PUT with If-Match: the current tag, *, or one of several applies; otherwise 412 and nothing changes", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "t" })
        const task = asTask(created)
        const stale = header(created, "etag")!
        const moved = yield* update(base, 1, task.id, { title: "moved" })
        const current = header(moved, "etag")!
        for (const value of [stale, weak(current), `${weak(current)}, ${stale}`, "\"garbage\"", "garbage", `"${current}"`]) {
          const refused = yield* update(base, 1, task.id, { title: "lost update" }, { "if-match": value })
          expect({ value, status: refused.status }).toEqual({ value, status: 412 })
          expect(asError(refused)).toMatchObject({ code: "PRECONDITION_FAILED" })
          expect(refused.headers["cache-control"]).toBe("no-store")
        }
        // `{}` changes nothing, yet its precondition is still checked.
        expect((yield* update(base, 1, task.id, {}, { "if-match": stale })).status).toBe(412)
        expect((yield* update(base, 1, task.id, {}, { "if-match": current })).status).toBe(200)
        const untouched = yield* get(base, 1, task.id)
        expect(untouched.json).toEqual(moved.json)
        expect(untouched.headers["etag"]).toBe(current)

        const applied = yield* update(base, 1, task.id, { completed: true }, { "if-match": current })
        expect(applied.status).toBe(200)
        expect(asTask(applied).completed).toBe(true)
        const latest = header(applied, "etag")!
        const several = yield* update(base, 1, task.id, { title: "several" }, { "if-match": `${stale}, "x", ${latest}` })
        expect(several.status).toBe(200)
        const any = yield* update(base, 1, task.id, { title: "any" }, { "if-match": "*" })
        expect(any.status).toBe(200)
        expect(asTask(any).title).toBe("any")
        // The tag a PUT answers is the one the next If-Match must name.
        const chained = yield* update(base, 1, task.id, { title: "chained" }, { "if-match": header(any, "etag")! })
        expect(chained.status).toBe(200)
      }))

    it.scopedLive("DELETE with If-Match: 412 and the task stays unless the tag is current or *", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const first = yield* create(base, 1, { title: "a" })
        const a = asTask(first)
        const current = header(yield* update(base, 1, a.id, { title: "a2" }), "etag")!
        for (const value of [header(first, "etag")!, weak(current), "\"nope\""]) {
          const refused = yield* remove(base, 1, a.id, { "if-match": value })
          expect({ value, status: refused.status }).toEqual({ value, status: 412 })
          expect(asError(refused).code).toBe("PRECONDITION_FAILED")
          expect((yield* get(base, 1, a.id)).status).toBe(200)
        }
        expect((yield* remove(base, 1, a.id, { "if-match": `"x", ${current}` })).status).toBe(200)
        expect((yield* get(base, 1, a.id)).status).toBe(404)
        const b = asTask(yield* create(base, 1, { title: "b" }))
        expect((yield* remove(base, 1, b.id, { "if-match": "*" })).status).toBe(200)
        // Gone now: * names no existing task, so 404 (not 412).
        expect((yield* remove(base, 1, b.id, { "if-match": "*" })).status).toBe(404)
      }))

    it.scopedLive("a missing or another user's task is still 404 under If-Match, and the other's task stays", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "alice's" })
        const task = asTask(created)
        const tag = header(created, "etag")!
        for (const value of [tag, "*", "\"stale\"", weak(tag)]) {
          for (const answer of [
            yield* update(base, 2, task.id, { title: "stolen" }, { "if-match": value }),
            yield* remove(base, 2, task.id, { "if-match": value }),
            yield* update(base, 1, 2147483647, { title: "x" }, { "if-match": value }),
            yield* remove(base, 1, 2147483647, { "if-match": value })
          ]) {
            expect({ value, status: answer.status }).toEqual({ value, status: 404 })
            expect(asError(answer)).toEqual({ code: "NOT_FOUND", message: "Task not found" })
          }
        }
        const still = yield* get(base, 1, task.id)
        expect(still.json).toEqual(created.json)
        expect(still.headers["etag"]).toBe(tag)
      }))

    it.scopedLive("20 concurrent PUTs with the same If-Match: exactly one 200, the rest 412", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "contended" })
        const task = asTask(created)
        const tag = header(created, "etag")!
        const answers = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, k) => k),
          (k) => update(base, 1, task.id, { title: `writer ${k}`, completed: k % 2 === 0 }, { "if-match": tag }),
          { concurrency: "unbounded" }
        )
        const statuses = answers.map((answer) => answer.status).sort()
        expect(statuses).toEqual([200, ...Array.from({ length: 19 }, () => 412)])
        const winner = answers.find((answer) => answer.status === 200)!
        const now = yield* get(base, 1, task.id)
        expect(now.json).toEqual(winner.json)
        expect(now.headers["etag"]).toBe(winner.headers["etag"])
      }))

    it.scopedLive("20 concurrent DELETEs with the same If-Match: exactly one 200, the rest 412 or 404", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "contended" })
        const task = asTask(created)
        const tag = header(created, "etag")!
        const answers = yield* Effect.all(
          Array.from({ length: 20 }, () => remove(base, 1, task.id, { "if-match": tag })),
          { concurrency: "unbounded" }
        )
        const statuses = answers.map((answer) => answer.status)
        expect(statuses.filter((status) => status === 200)).toHaveLength(1)
        expect(statuses.every((status) => status === 200 || status === 404 || status === 412)).toBe(true)
      }))

    it.scopedLive("Cache-Control: private, no-cache on task and list answers; no-store on errors", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 1, { title: "t" })
        const task = asTask(created)
        const revalidated = [
          created,
          yield* get(base, 1, task.id),
          yield* update(base, 1, task.id, { completed: true }),
          yield* list(base, 1),
          yield* list(base, 1, "?limit=1"),
          yield* list(base, 77)
        ]
        for (const answer of revalidated) expect(answer.headers["cache-control"]).toBe("private, no-cache")
        const errors = [
          yield* get(base, 1, 2147483647),
          yield* get(base, 2, task.id),
          yield* get(base, 1, 0),
          yield* create(base, 1, { title: " " }),
          yield* update(base, 1, task.id, { title: "x" }, { "if-match": "\"stale\"" }),
          yield* list(base, 1, "?limit=0")
        ]
        for (const answer of errors) {
          expect(answer.status).toBeGreaterThanOrEqual(400)
          expect(answer.headers["cache-control"]).toBe("no-store")
          expect(answer.headers["etag"]).toBeUndefined()
        }
      }))
  })
}
