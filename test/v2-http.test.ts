import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { asTask, call, serve } from "./support/http.ts"
import { repositories } from "./support/repositories.ts"
import { comparable, complete, create, header, seed } from "./support/v2.ts"

/**
 * CONTRACT "Version 2: HTTP details": `HEAD` on every `GET` endpoint answers the same status
 * and headers as the `GET`, with no body, whatever the outcome (200, 304, 400, 404); and
 * `Location` on 201 (test/v2-idempotency.test.ts).
 */

for (const [name, layer] of repositories) {
  describe(`HEAD (${name})`, () => {
    it.scopedLive("HEAD on every GET endpoint: the GET's status and headers, no body", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 1, 3)
        yield* complete(base, [tasks[1]!])
        // Longer than one repository page, so that its GET is streamed.
        yield* seed(base, 2, 210)
        const task = tasks[0]!
        const taskTag = header(yield* call(base, "GET", `/users/1/tasks/${task.id}`), "etag")!
        const listTag = header(yield* call(base, "GET", "/users/1/tasks"), "etag")!
        const docs = yield* call(base, "GET", "/docs")
        const script = /\/docs\/scalar-[^"']+\.js/.exec(docs.text)?.[0]
        expect(script).toBeDefined()
        const targets: ReadonlyArray<readonly [string, Record<string, string>?]> = [
          ["/users/1/tasks"],
          ["/users/1/tasks?limit=1"],
          ["/users/1/tasks?completed=true&limit=1&after=0"],
          ["/users/2/tasks"],
          ["/users/3/tasks"],
          ["/users/1/tasks?limit=0"],
          ["/users/abc/tasks"],
          ["/users/1/tasks", { "if-none-match": listTag }],
          [`/users/1/tasks/${task.id}`],
          [`/users/1/tasks/${task.id}`, { "if-none-match": taskTag }],
          [`/users/2/tasks/${task.id}`],
          ["/users/1/tasks/2147483647"],
          ["/users/1/tasks/0"],
          ["/health"],
          ["/health/ready"],
          ["/openapi.json"],
          ["/docs"],
          [script!],
          ["/no/such/route"]
        ]
        for (const [path, headers = {}] of targets) {
          const got = yield* call(base, "GET", path, undefined, headers)
          const head = yield* call(base, "HEAD", path, undefined, headers)
          expect({ path, status: head.status, body: head.text }).toEqual({ path, status: got.status, body: "" })
          // A streamed GET is framed as chunked; HEAD has no content to frame, and RFC 9110
          // §9.3.2 lets it omit what is known only while generating the content.
          const { "transfer-encoding": _framing, ...framed } = comparable(got)
          expect({ path, headers: comparable(head) }).toEqual({ path, headers: framed })
        }
      }))

    it.scopedLive("HEAD with authentication configured: the GET's 401, 403 and 200, no body", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer, { auth: { AUTH_JWT_SECRET: "a-test-secret-of-at-least-32-bytes!" } })
        const signup = yield* call(base, "POST", "/auth/signup", JSON.stringify({ email: "head@example.com", password: "correct horse" }), {
          "content-type": "application/json"
        })
        expect(signup.status).toBe(201)
        const user = (signup.json as { readonly user_id: number }).user_id
        const signin = yield* call(base, "POST", "/auth/signin", JSON.stringify({ email: "head@example.com", password: "correct horse" }), {
          "content-type": "application/json"
        })
        const token = (signin.json as { readonly access_token: string }).access_token
        const bearer = { authorization: `Bearer ${token}` }
        const targets: ReadonlyArray<readonly [string, Record<string, string>]> = [
          ["/auth/me", {}],
          ["/auth/me", { authorization: "Bearer not-a-token" }],
          ["/auth/me", bearer],
          [`/users/${user}/tasks`, {}],
          [`/users/${user}/tasks?limit=5`, bearer],
          [`/users/${user + 1}/tasks`, bearer],
          [`/users/${user}/tasks/1`, bearer]
        ]
        const statuses: Array<number> = []
        for (const [path, headers] of targets) {
          const got = yield* call(base, "GET", path, undefined, headers)
          const head = yield* call(base, "HEAD", path, undefined, headers)
          statuses.push(got.status)
          expect({ path, status: head.status, body: head.text }).toEqual({ path, status: got.status, body: "" })
          expect({ path, headers: comparable(head) }).toEqual({ path, headers: comparable(got) })
        }
        expect(statuses).toEqual([401, 401, 200, 401, 200, 403, 404])
      }))

    it.scopedLive("HEAD changes nothing and a 201's Location is a path HEAD and GET find", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const created = yield* create(base, 4, { title: "t" })
        const location = header(created, "location")!
        expect(location).toBe(`/users/4/tasks/${asTask(created).id}`)
        expect((yield* call(base, "HEAD", location)).status).toBe(200)
        expect((yield* call(base, "GET", location)).json).toEqual(created.json)
      }))
  })
}
