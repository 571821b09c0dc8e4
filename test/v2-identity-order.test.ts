import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Http from "node:http"
import { FailingRepository } from "./support/failing.ts"
import { type Answer, asError, asTask, asTasks, call, json, serve } from "./support/http.ts"
import { bearer, expectTokenRefused, SECRET } from "./support/identityHttp.ts"
import { secondsFromNow, signHmac } from "./support/identityJwks.ts"

/**
 * CONTRACT "Version 2: identity": a token acts for its own user only (403), and the order in
 * which a request is checked: routing, token, path, owner, query/headers/body, task,
 * preconditions and idempotency.
 */

const auth = { auth: { AUTH_JWT_SECRET: SECRET } }
const asJson = { "content-type": "application/json" }

const tokenOf = (user: number) => signHmac(SECRET, { sub: String(user) })

const code = (answer: Answer) => [answer.status, answer.status === 200 || answer.status === 201 ? "" : asError(answer).code]

/** Every task endpoint of `user` (HEAD included: it is served for every GET), on task `taskId`. */
const endpoints = (user: number | string, taskId: number | string) =>
  [
    ["GET", `/users/${user}/tasks`, undefined],
    ["HEAD", `/users/${user}/tasks`, undefined],
    ["POST", `/users/${user}/tasks`, json({ title: "t" })],
    ["GET", `/users/${user}/tasks/${taskId}`, undefined],
    ["HEAD", `/users/${user}/tasks/${taskId}`, undefined],
    ["PUT", `/users/${user}/tasks/${taskId}`, json({ title: "t2" })],
    ["DELETE", `/users/${user}/tasks/${taskId}`, undefined]
  ] as const

describe("403 FORBIDDEN: a token acts for its own user only", () => {
  it.scopedLive("a valid token of user 7 on each task endpoint of user 8 is 403, and changes nothing", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      const eight = bearer(yield* tokenOf(8))
      const task = asTask(yield* call(base, "POST", "/users/8/tasks", json({ title: "eight's" }), { ...eight, ...asJson }))
      const seven = bearer(yield* tokenOf(7))
      for (const [method, path, body] of endpoints(8, task.id)) {
        const answer = yield* call(base, method, path, body, { ...seven, ...asJson })
        expect([method, path, answer.status]).toEqual([method, path, 403])
        expect(answer.headers["www-authenticate"]).toBeUndefined()
        if (method !== "HEAD") {
          expect(asError(answer)).toEqual({ code: "FORBIDDEN", message: expect.any(String) })
          expect(answer.headers["cache-control"]).toBe("no-store")
        }
      }
      const list = yield* call(base, "GET", "/users/8/tasks", undefined, eight)
      expect(asTasks(list)).toEqual([task])
    }))

  it.scopedLive("user 8's task on user 7's own path, with 7's token, is 404 exactly like a task that does not exist", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      const eight = bearer(yield* tokenOf(8))
      const task = asTask(yield* call(base, "POST", "/users/8/tasks", json({ title: "eight's" }), { ...eight, ...asJson }))
      const seven = bearer(yield* tokenOf(7))
      for (const [method, path, body] of endpoints(7, task.id).filter(([, path]) => path.endsWith(`/${task.id}`))) {
        const foreign = yield* call(base, method, path, body, { ...seven, ...asJson })
        const missing = yield* call(base, method, path.replace(`/${task.id}`, "/2000000000"), body, { ...seven, ...asJson })
        expect([method, foreign.status, foreign.text]).toEqual([method, 404, missing.text])
        if (method !== "HEAD") expect(asError(foreign)).toEqual({ code: "NOT_FOUND", message: "Task not found" })
      }
      expect(asTask(yield* call(base, "GET", `/users/8/tasks/${task.id}`, undefined, eight))).toEqual(task)
    }))
})

describe("the order of checks", () => {
  it.scopedLive("routing first: an unknown route is 404 and a wrong method 405, with or without a token", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      const tokens: ReadonlyArray<Http.OutgoingHttpHeaders> = [{}, { authorization: "Bearer garbage" }, bearer(yield* tokenOf(7)), bearer(yield* tokenOf(8))]
      for (const headers of tokens) {
        for (const path of ["/users/7/nope", "/users/7/tasks/1/more", "/nothing"]) {
          const answer = yield* call(base, "GET", path, undefined, headers)
          expect([path, code(answer)]).toEqual([path, [404, "NOT_FOUND"]])
          expect(answer.headers["www-authenticate"]).toBeUndefined()
        }
        for (const [method, path] of [["PATCH", "/users/7/tasks"], ["PUT", "/users/7/tasks"], ["POST", "/users/7/tasks/1"]] as const) {
          const answer = yield* call(base, method, path, undefined, headers)
          expect([method, path, code(answer)]).toEqual([method, path, [405, "METHOD_NOT_ALLOWED"]])
        }
      }
    }))

  it.scopedLive("then the token (401) before the path (400); then the path before the owner (403)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      expectTokenRefused(yield* call(base, "GET", "/users/abc/tasks"), "MISSING_TOKEN")
      expectTokenRefused(yield* call(base, "GET", "/users/0/tasks/x", undefined, { authorization: "Bearer garbage" }), "INVALID_TOKEN")
      const expired = yield* signHmac(SECRET, { sub: "7", exp: secondsFromNow(-300) })
      expectTokenRefused(yield* call(base, "PUT", "/users/abc/tasks/1", "{", { ...bearer(expired), ...asJson }), "EXPIRED_TOKEN", expired)
      const seven = bearer(yield* tokenOf(7))
      const badUser = yield* call(base, "GET", "/users/abc/tasks", undefined, seven)
      expect(code(badUser)).toEqual([400, "VALIDATION_ERROR"])
      expect(asError(badUser).details).toMatchObject({ field: "user_id" })
      // user 8 is not 7's, but the task id is checked first.
      const badTask = yield* call(base, "GET", "/users/8/tasks/abc", undefined, seven)
      expect(code(badTask)).toEqual([400, "VALIDATION_ERROR"])
      expect(asError(badTask).details).toMatchObject({ field: "task_id" })
    }))

  it.scopedLive("then the owner (403) before query parameters, headers and the body (400/413/415)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      const seven = bearer(yield* tokenOf(7))
      const refused: ReadonlyArray<readonly [string, string, string, string | Buffer | undefined, Http.OutgoingHttpHeaders]> = [
        ["bad query", "GET", "/users/8/tasks?limit=abc&completed=maybe", undefined, {}],
        ["malformed Idempotency-Key", "POST", "/users/8/tasks", json({ title: "t" }), { ...asJson, "idempotency-key": "" }],
        ["not JSON", "POST", "/users/8/tasks", "{", asJson],
        ["invalid task", "PUT", "/users/8/tasks/1", json({ title: null }), asJson],
        ["text/plain", "POST", "/users/8/tasks", json({ title: "t" }), { "content-type": "text/plain" }],
        ["over 1 MiB", "POST", "/users/8/tasks", Buffer.alloc(1024 * 1024 + 10, 0x20), asJson]
      ]
      for (const [name, method, path, body, headers] of refused) {
        const answer = yield* call(base, method, path, body, { ...seven, ...headers })
        expect([name, code(answer)]).toEqual([name, [403, "FORBIDDEN"]])
      }
      // On 7's own path the same requests get their own answers.
      const own: ReadonlyArray<readonly [string, number]> = [
        ["bad query", 400],
        ["malformed Idempotency-Key", 400],
        ["not JSON", 400],
        ["invalid task", 400],
        ["text/plain", 415],
        ["over 1 MiB", 413]
      ]
      for (const [name, status] of own) {
        const [, method, path, body, headers] = refused.find(([candidate]) => candidate === name)!
        const answer = yield* call(base, method, path.replace("/users/8/", "/users/7/"), body, { ...seven, ...headers })
        expect([name, answer.status]).toEqual([name, status])
      }
    }))

  it.scopedLive("then query/body (400/415) before the task (404), and the task (404) before preconditions (412)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, auth)
      const seven = { ...bearer(yield* tokenOf(7)), ...asJson }
      const missing = "/users/7/tasks/2000000000"
      expect(code(yield* call(base, "PUT", missing, json({ title: "" }), seven))).toEqual([400, "VALIDATION_ERROR"])
      expect(code(yield* call(base, "PUT", missing, json({ title: "t" }), { ...seven, "content-type": "text/plain" })))
        .toEqual([415, "UNSUPPORTED_MEDIA_TYPE"])
      expect(code(yield* call(base, "PUT", missing, json({ title: "t" }), { ...seven, "if-match": "\"stale\"" })))
        .toEqual([404, "NOT_FOUND"])
      expect(code(yield* call(base, "DELETE", missing, undefined, { ...seven, "if-match": "\"stale\"" }))).toEqual([404, "NOT_FOUND"])
      const task = asTask(yield* call(base, "POST", "/users/7/tasks", json({ title: "t" }), seven))
      expect(code(yield* call(base, "PUT", `/users/7/tasks/${task.id}`, json({ title: "u" }), { ...seven, "if-match": "\"stale\"" })))
        .toEqual([412, "PRECONDITION_FAILED"])
      const first = yield* call(base, "POST", "/users/7/tasks", json({ title: "once" }), { ...seven, "idempotency-key": "k-1" })
      expect(first.status).toBe(201)
      expect(code(yield* call(base, "POST", "/users/7/tasks", json({ title: "twice" }), { ...seven, "idempotency-key": "k-1" })))
        .toEqual([422, "IDEMPOTENCY_KEY_REUSED"])
    }))

  it.scopedLive("a bad token, or another user's, never reaches the database: 401/403 from a failing repository, not 500", () =>
    Effect.gen(function*() {
      const base = yield* serve(FailingRepository, auth)
      const expired = yield* signHmac(SECRET, { sub: "7", exp: secondsFromNow(-300) })
      const badTokens: ReadonlyArray<readonly [Http.OutgoingHttpHeaders, string]> = [
        [{}, "MISSING_TOKEN"],
        [{ authorization: "Bearer garbage" }, "INVALID_TOKEN"],
        [bearer(yield* signHmac("someone-elses-secret-that-is-long-enough!!", { sub: "7" })), "INVALID_TOKEN"],
        [bearer(expired), "EXPIRED_TOKEN"]
      ]
      for (const [method, path, body] of endpoints(7, 1)) {
        for (const [headers, expected] of badTokens) {
          const answer = yield* call(base, method, path, body, { ...headers, ...asJson })
          expect([method, path, answer.status]).toEqual([method, path, 401])
          if (method !== "HEAD") expect(asError(answer).code).toBe(expected)
        }
        const forbidden = yield* call(base, method, path.replace("/users/7/", "/users/8/"), body, { ...bearer(yield* tokenOf(7)), ...asJson })
        expect([method, path, forbidden.status]).toEqual([method, path, 403])
        // The repository does fail: the right token on its own path is what reaches it.
        const reached = yield* call(base, method, path, body, { ...bearer(yield* tokenOf(7)), ...asJson })
        expect([method, path, reached.status]).toEqual([method, path, 500])
      }
    }))
})
