import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { asError, asTask, asTasks, call, json, serve } from "./support/http.ts"

/**
 * The contract (CONTRACT.md), black-box: HTTP in, JSON out, through the real router,
 * codecs, error mapping and node:http, on the in-memory repository. Each test gets a
 * fresh server with an empty store.
 */

const create = (base: string, user: number, body: unknown) =>
  call(base, "POST", `/users/${user}/tasks`, json(body), { "content-type": "application/json" })

describe("tasks", () => {
  it.scopedLive("create returns 201 and the task; absent description is null", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const answer = yield* create(base, 123, { title: "Buy groceries" })
      expect(answer.status).toBe(201)
      expect(answer.headers["content-type"]).toBe("application/json")
      const task = asTask(answer)
      expect(task).toMatchObject({ title: "Buy groceries", description: null, completed: false, user_id: 123 })
      expect(Object.keys(answer.json as object)).toEqual([
        "id", "title", "description", "completed", "user_id", "created_at", "updated_at"
      ])
      expect(task.created_at.getTime()).toBe(task.updated_at.getTime())
      expect((answer.json as { created_at: string }).created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    }))

  it.scopedLive("list is [] for an unknown user, then the user's tasks ordered by id", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const empty = yield* call(base, "GET", "/users/5/tasks")
      expect(empty.status).toBe(200)
      expect(empty.json).toEqual([])
      for (const title of ["a", "b", "c"]) yield* create(base, 5, { title })
      yield* create(base, 6, { title: "other user's" })
      const listed = yield* call(base, "GET", "/users/5/tasks")
      expect(listed.status).toBe(200)
      const tasks = asTasks(listed)
      expect(tasks.map((task) => task.title)).toEqual(["a", "b", "c"])
      expect([...tasks.map((task) => task.id)].sort((a, b) => a - b)).toEqual(tasks.map((task) => task.id))
    }))

  it.scopedLive("get returns what create returned, timestamps included", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = yield* create(base, 1, { title: "t", description: "d" })
      const id = asTask(created).id
      const got = yield* call(base, "GET", `/users/1/tasks/${id}`)
      expect(got.status).toBe(200)
      expect(got.json).toEqual(created.json)
    }))

  it.scopedLive("description: \"\" is kept as \"\"; text comes back exactly as sent", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const empty = yield* create(base, 1, { title: "t", description: "" })
      expect(asTask(empty).description).toBe("")
      const odd = "'; DROP TABLE tasks; -- \"quoted\" <script>alert(1)</script> 😀 \\ \u00e9 \u2028"
      const created = yield* create(base, 1, { title: odd, description: odd })
      expect(asTask(created)).toMatchObject({ title: odd, description: odd })
      const got = yield* call(base, "GET", `/users/1/tasks/${asTask(created).id}`)
      expect(asTask(got)).toMatchObject({ title: odd, description: odd })
    }))

  it.scopedLive("unknown fields are ignored and never set id, user_id, completed or timestamps", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const answer = yield* create(base, 7, {
        title: "t",
        id: 999,
        user_id: 8,
        completed: true,
        created_at: "2000-01-01T00:00:00.000Z",
        extra: { nested: true }
      })
      expect(answer.status).toBe(201)
      const task = asTask(answer)
      expect(task.id).not.toBe(999)
      expect(task.user_id).toBe(7)
      expect(task.completed).toBe(false)
      expect(task.created_at.getFullYear()).toBeGreaterThan(2000)
      const other = yield* call(base, "GET", "/users/8/tasks")
      expect(other.json).toEqual([])
    }))

  it.scopedLive("limits count code points: 500 emoji are a valid title, 501 are not", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const ok = yield* create(base, 1, { title: "😀".repeat(500), description: "😀".repeat(5000) })
      expect(ok.status).toBe(201)
      expect(asTask(ok).title).toBe("😀".repeat(500))
      const title = yield* create(base, 1, { title: "😀".repeat(501) })
      expect(title.status).toBe(400)
      expect(asError(title)).toEqual({
        code: "VALIDATION_ERROR",
        message: "Task title must be at most 500 characters long",
        details: { field: "title", constraint: "max_length", max: 500 }
      })
      const description = yield* create(base, 1, { title: "t", description: "x".repeat(5001) })
      expect(asError(description).details).toEqual({ field: "description", constraint: "max_length", max: 5000 })
    }))

  it.scopedLive("update is partial: absent fields stay, description null clears, {} changes nothing", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = asTask(yield* create(base, 1, { title: "t", description: "d" }))
      const path = `/users/1/tasks/${created.id}`

      const same = yield* call(base, "PUT", path, json({}))
      expect(same.status).toBe(200)
      expect(asTask(same)).toEqual(created)

      const done = yield* call(base, "PUT", path, json({ completed: true }))
      expect(done.status).toBe(200)
      expect(asTask(done)).toMatchObject({ title: "t", description: "d", completed: true })
      expect(asTask(done).updated_at.getTime()).toBeGreaterThan(created.updated_at.getTime())
      expect(asTask(done).created_at).toEqual(created.created_at)

      const cleared = yield* call(base, "PUT", path, json({ description: null, title: "new" }))
      expect(asTask(cleared)).toMatchObject({ title: "new", description: null, completed: true })
      expect(asTask(cleared).updated_at.getTime()).toBeGreaterThan(asTask(done).updated_at.getTime())

      const got = yield* call(base, "GET", path)
      expect(got.json).toEqual(cleared.json)
    }))

  it.scopedLive("update: title null or completed null is a 400; user_id in the body never moves a task", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = asTask(yield* create(base, 1, { title: "t" }))
      const path = `/users/1/tasks/${created.id}`
      const title = yield* call(base, "PUT", path, json({ title: null }))
      expect(title.status).toBe(400)
      expect(asError(title).details).toEqual({ field: "title", constraint: "type", expected: "a string" })
      const completed = yield* call(base, "PUT", path, json({ completed: null }))
      expect(completed.status).toBe(400)
      expect(asError(completed).details).toEqual({ field: "completed", constraint: "type", expected: "a boolean" })
      const moved = yield* call(base, "PUT", path, json({ user_id: 2, title: "still mine" }))
      expect(asTask(moved)).toMatchObject({ user_id: 1, title: "still mine" })
      expect((yield* call(base, "GET", "/users/2/tasks")).json).toEqual([])
      const unchanged = yield* call(base, "GET", path)
      expect(asTask(unchanged).title).toBe("still mine")
    }))

  it.scopedLive("delete answers the message, then the task is gone", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = asTask(yield* create(base, 1, { title: "t" }))
      const path = `/users/1/tasks/${created.id}`
      const deleted = yield* call(base, "DELETE", path)
      expect(deleted.status).toBe(200)
      expect(deleted.json).toEqual({ message: "Task deleted successfully" })
      const again = yield* call(base, "DELETE", path)
      expect(again.status).toBe(404)
      expect((yield* call(base, "GET", path)).status).toBe(404)
    }))
})

describe("isolation", () => {
  it.scopedLive("another user's task is answered exactly like a missing one, for every method", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const mine = asTask(yield* create(base, 1, { title: "private" }))
      const missing = 2_000_000
      for (const [method, body] of [["GET", undefined], ["PUT", json({ title: "stolen" })], ["DELETE", undefined]] as const) {
        const foreign = yield* call(base, method, `/users/2/tasks/${mine.id}`, body)
        const absent = yield* call(base, method, `/users/2/tasks/${missing}`, body)
        expect(foreign.status).toBe(404)
        expect(foreign.text).toBe(absent.text)
        expect(asError(foreign)).toEqual({ code: "NOT_FOUND", message: "Task not found" })
        const { date: _d1, "x-request-id": _r1, ...foreignHeaders } = foreign.headers
        const { date: _d2, "x-request-id": _r2, ...absentHeaders } = absent.headers
        expect(foreignHeaders).toEqual(absentHeaders)
      }
      const still = yield* call(base, "GET", `/users/1/tasks/${mine.id}`)
      expect(asTask(still)).toEqual(mine)
    }))
})

describe("validation", () => {
  const badIds = [
    ["abc", { constraint: "type", expected: "an integer" }],
    ["1.5", { constraint: "type", expected: "an integer" }],
    ["0", { constraint: "range", min: 1, max: 2147483647 }],
    ["-1", { constraint: "range", min: 1, max: 2147483647 }],
    ["99999999999", { constraint: "range", min: 1, max: 2147483647 }],
    ["2147483648", { constraint: "range", min: 1, max: 2147483647 }]
  ] as const

  it.scopedLive("a bad user_id is a 400 naming user_id, on every endpoint", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const [id, expected] of badIds) {
        for (const [method, path] of [
          ["GET", `/users/${id}/tasks`],
          ["POST", `/users/${id}/tasks`],
          ["GET", `/users/${id}/tasks/1`],
          ["PUT", `/users/${id}/tasks/1`],
          ["DELETE", `/users/${id}/tasks/1`]
        ] as const) {
          const answer = yield* call(base, method, path, method === "POST" || method === "PUT" ? json({ title: "t" }) : undefined)
          expect(answer.status, `${method} ${path}`).toBe(400)
          const error = asError(answer)
          expect(error.code).toBe("VALIDATION_ERROR")
          expect(error.details).toEqual({ field: "user_id", ...expected })
        }
      }
    }))

  it.scopedLive("a bad task_id is a 400 naming task_id; the largest id is valid", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const [id, expected] of badIds) {
        for (const method of ["GET", "PUT", "DELETE"]) {
          const answer = yield* call(base, method, `/users/1/tasks/${id}`, method === "PUT" ? json({}) : undefined)
          expect(answer.status).toBe(400)
          expect(asError(answer).details).toEqual({ field: "task_id", ...expected })
        }
      }
      expect((yield* call(base, "GET", "/users/2147483647/tasks/2147483647")).status).toBe(404)
      expect((yield* call(base, "GET", "/users/2147483647/tasks")).status).toBe(200)
    }))

  it.scopedLive("title rules: required, non_empty (empty or only white space), type", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const cases = [
        [{}, { field: "title", constraint: "required" }, "Task title is required"],
        [{ title: "" }, { field: "title", constraint: "non_empty" }, "Task title is required"],
        [{ title: " \t\n\u3000" }, { field: "title", constraint: "non_empty" }, "Task title is required"],
        [{ title: 42 }, { field: "title", constraint: "type", expected: "a string" }, "Task title must be a string"],
        [{ title: null }, { field: "title", constraint: "type", expected: "a string" }, "Task title must be a string"],
        [{ title: "t", description: 5 }, { field: "description", constraint: "type", expected: "a string or null" },
          "Task description must be a string or null"]
      ] as const
      for (const [body, details, message] of cases) {
        const answer = yield* create(base, 1, body)
        expect(answer.status).toBe(400)
        expect(asError(answer)).toEqual({ code: "VALIDATION_ERROR", message, details })
      }
      expect((yield* call(base, "GET", "/users/1/tasks")).json).toEqual([])
    }))

  it.scopedLive("the first declared field is named when several are wrong", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const answer = yield* create(base, 1, { description: 5, title: 5 })
      expect(asError(answer).details).toMatchObject({ field: "title" })
      const created = asTask(yield* create(base, 1, { title: "t" }))
      const update = yield* call(base, "PUT", `/users/1/tasks/${created.id}`, json({ completed: "no", description: 1 }))
      expect(asError(update).details).toMatchObject({ field: "description" })
    }))

  it.scopedLive("NUL and unpaired surrogates are rejected with a 400 (PostgreSQL could not store them)", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const text of ["a\u0000b", "\ud800", "x\udc00"]) {
        const title = yield* create(base, 1, { title: text })
        expect(title.status).toBe(400)
        expect(asError(title).details).toMatchObject({ field: "title", constraint: "type" })
        const description = yield* create(base, 1, { title: "t", description: text })
        expect(asError(description).details).toMatchObject({ field: "description", constraint: "type" })
      }
    }))

  it.scopedLive("a body that is not JSON, or not an object, is a 400 naming body", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const body of ["{", "not json", "", "{\"title\": \"t\",}"]) {
        const answer = yield* call(base, "POST", "/users/1/tasks", body, { "content-type": "application/json" })
        expect(answer.status).toBe(400)
        expect(asError(answer)).toEqual({
          code: "VALIDATION_ERROR",
          message: "Request body is not valid JSON",
          details: { field: "body", constraint: "json" }
        })
      }
      for (const body of ["[]", "\"title\"", "42", "null", "true"]) {
        const answer = yield* call(base, "POST", "/users/1/tasks", body)
        expect(answer.status).toBe(400)
        expect(asError(answer).details).toEqual({ field: "body", constraint: "type", expected: "a JSON object" })
      }
      const created = asTask(yield* create(base, 1, { title: "t" }))
      const put = yield* call(base, "PUT", `/users/1/tasks/${created.id}`, "[1]")
      expect(asError(put).details).toEqual({ field: "body", constraint: "type", expected: "a JSON object" })
    }))

  it.scopedLive("a body that is not UTF-8 is a 400, not text with replacement characters", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const body = Buffer.concat([Buffer.from("{\"title\":\""), Buffer.from([0xff, 0xfe]), Buffer.from("\"}")])
      const answer = yield* call(base, "POST", "/users/1/tasks", body, { "content-type": "application/json" })
      expect(answer.status).toBe(400)
      expect(asError(answer).details).toEqual({ field: "body", constraint: "json" })
      expect((yield* call(base, "GET", "/users/1/tasks")).json).toEqual([])
    }))

  it.scopedLive("a body that is not sent as JSON is a 415 before it is read; no Content-Type is JSON", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const body = json({ title: "content types" })
      for (const type of ["application/x-www-form-urlencoded", "text/plain", "text/plain;charset=UTF-8", "application/jsonx",
        "multipart/form-data; boundary=x", "application/xml", "json"]) {
        for (const [method, path] of [["POST", "/users/1/tasks"], ["PUT", "/users/1/tasks/1"]] as const) {
          const answer = yield* call(base, method, path, body, { "content-type": type })
          expect(answer.status, `${method} ${type}`).toBe(415)
          expect(asError(answer)).toEqual({
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "Request body must be JSON (Content-Type: application/json)"
          })
          expect(answer.headers["cache-control"]).toBe("no-store")
        }
      }
      for (const type of [undefined, "application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"]) {
        const answer = yield* call(base, "POST", "/users/1/tasks", body, type === undefined ? {} : { "content-type": type })
        expect(answer.status, String(type)).toBe(201)
      }
      // Checked only where a body is read: a GET with a form body is still a GET.
      const list = yield* call(base, "GET", "/users/1/tasks", "a=b", {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": "3"
      })
      expect(list.status).toBe(200)
    }))

  it.scopedLive("a body nested deeper than 32 levels or with more than 1,000 keys is refused as not JSON", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const nested = (depth: number) => `{"title":"t","x":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`
      expect((yield* call(base, "POST", "/users/1/tasks", nested(32))).status).toBe(201)
      const deep = yield* call(base, "POST", "/users/1/tasks", nested(33))
      expect(deep.status).toBe(400)
      expect(asError(deep).details).toEqual({ field: "body", constraint: "json" })
      const keys = (count: number) =>
        json({ title: "t", ...Object.fromEntries(Array.from({ length: count - 1 }, (_, i) => [`k${i}`, i])) })
      expect((yield* call(base, "POST", "/users/1/tasks", keys(1000))).status).toBe(201)
      const wide = yield* call(base, "POST", "/users/1/tasks", keys(1001))
      expect(wide.status).toBe(400)
      expect(asError(wide).details).toEqual({ field: "body", constraint: "json" })
      // Brackets and colons inside strings are text, not structure.
      const text = yield* call(base, "POST", "/users/1/tasks", json({ title: "[".repeat(100) + ":".repeat(300), description: "{".repeat(2000) }))
      expect(text.status).toBe(201)
    }))
})

describe("routing and limits", () => {
  it.scopedLive("unknown routes are 404 and known paths with other methods are 405, as envelopes", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const path of ["/", "/users", "/users/1", "/users/1/tasks/1/extra", "/tasks", "/users/1/tasks/"]) {
        const answer = yield* call(base, "GET", path)
        expect(answer.status, path).toBe(404)
        expect(asError(answer)).toEqual({ code: "NOT_FOUND", message: "Route not found" })
      }
      for (const [method, path, allow] of [
        ["PATCH", "/users/1/tasks/1", "GET, PUT, DELETE, HEAD, OPTIONS"],
        ["DELETE", "/users/1/tasks", "GET, POST, HEAD, OPTIONS"],
        ["PUT", "/users/1/tasks", "GET, POST, HEAD, OPTIONS"],
        ["POST", "/users/1/tasks/1", "GET, PUT, DELETE, HEAD, OPTIONS"]
      ] as const) {
        const answer = yield* call(base, method, path)
        expect(answer.status).toBe(405)
        expect(answer.headers.allow).toBe(allow)
        expect(asError(answer)).toEqual({ code: "METHOD_NOT_ALLOWED", message: "Method not allowed" })
      }
    }))

  it.scopedLive("the document and docs paths answer other methods with 405", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      for (const [method, path] of [["POST", "/openapi.json"], ["DELETE", "/docs"], ["PUT", "/openapi.json"]] as const) {
        const answer = yield* call(base, method, path)
        expect(answer.status).toBe(405)
        expect(answer.headers.allow).toBe("GET, HEAD")
        expect(asError(answer).code).toBe("METHOD_NOT_ALLOWED")
      }
    }))

  it.scopedLive("a body over 1 MiB is a 413 envelope; exactly 1 MiB is read", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const big = json({ title: "t", description: "x".repeat(1024 * 1024) })
      const declared = yield* call(base, "POST", "/users/1/tasks", big)
      expect(declared.status).toBe(413)
      expect(asError(declared)).toEqual({ code: "PAYLOAD_TOO_LARGE", message: "Request body is larger than 1 MiB" })
      // Chunked: no Content-Length to refuse early, so the limit is counted while reading.
      const chunked = yield* call(base, "PUT", "/users/1/tasks/1", big, { "transfer-encoding": "chunked" })
      expect(chunked.status).toBe(413)
      expect(asError(chunked).code).toBe("PAYLOAD_TOO_LARGE")
      const padding = 1024 * 1024 - json({ title: "t", description: "" }).length
      const exact = json({ title: "t", description: "" }).replace("\"\"", `"${" ".repeat(padding)}"`)
      expect(Buffer.byteLength(exact)).toBe(1024 * 1024)
      const accepted = yield* call(base, "POST", "/users/1/tasks", exact)
      expect(accepted.status).not.toBe(413)
    }))

  it.scopedLive("HEAD is served for every GET endpoint: same status and headers, no body", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = asTask(yield* call(base, "POST", "/users/7/tasks", json({ title: "head" })))
      for (const path of ["/users/7/tasks", `/users/7/tasks/${created.id}`, "/users/7/tasks/999", "/users/x/tasks", "/health"]) {
        const get = yield* call(base, "GET", path)
        const head = yield* call(base, "HEAD", path)
        expect([head.status, head.text], path).toEqual([get.status, ""])
        expect(head.headers["content-length"], path).toBe(get.headers["content-length"])
        expect(head.headers["cache-control"], path).toBe(get.headers["cache-control"])
      }
    }))

  it.scopedLive("task answers may be kept by the client only; errors are never stored", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const created = yield* call(base, "POST", "/users/8/tasks", json({ title: "cache" }))
      expect(created.headers["cache-control"]).toBe("private, no-cache")
      for (const path of ["/users/8/tasks", `/users/8/tasks/${asTask(created).id}`]) {
        expect((yield* call(base, "GET", path)).headers["cache-control"]).toBe("private, no-cache")
      }
      for (const [method, path] of [["GET", "/users/8/tasks/999"], ["GET", "/nope"], ["PATCH", "/users/8/tasks"], ["GET", "/users/0/tasks"]]) {
        expect((yield* call(base, method!, path!)).headers["cache-control"], `${method} ${path}`).toBe("no-store")
      }
    }))

  it.scopedLive("an answer given before the body is read reaches a client still sending it (413, 415, 404)", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      // A chunked body of 6 MiB: the 413 comes after 1 MiB, while the client is still writing.
      const big = Buffer.alloc(6 * 1024 * 1024, 0x20)
      const send = (path: string, contentType: string) =>
        Effect.map(
          Effect.catchAllDefect(call(base, "POST", path, big, { "content-type": contentType, "transfer-encoding": "chunked" }), (defect) =>
            Effect.succeed({ status: String(defect) })),
          (answer) => answer.status
        )
      for (let round = 0; round < 4; round++) {
        expect(yield* send("/users/1/tasks", "application/json")).toBe(413)
        expect(yield* send("/users/1/tasks", "text/plain")).toBe(415)
        expect(yield* send("/users/1/nothing", "application/json")).toBe(404)
      }
    }))

  it.scopedLive("responses carry nosniff and a request id, and no framework banner", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const answer = yield* call(base, "GET", "/users/1/tasks")
      expect(answer.headers["x-content-type-options"]).toBe("nosniff")
      expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/)
      expect(answer.headers["x-powered-by"]).toBeUndefined()
      expect(answer.headers.server).toBeUndefined()
      const echoed = yield* call(base, "GET", "/nope", undefined, { "x-request-id": "abc-123.X_y" })
      expect(echoed.headers["x-request-id"]).toBe("abc-123.X_y")
      const insane = yield* call(base, "GET", "/users/1/tasks", undefined, { "x-request-id": "bad id!" })
      expect(insane.headers["x-request-id"]).not.toBe("bad id!")
      const long = yield* call(base, "GET", "/users/1/tasks", undefined, { "x-request-id": "a".repeat(129) })
      expect(long.headers["x-request-id"]).not.toBe("a".repeat(129))
    }))
})

describe("operations", () => {
  it.scopedLive("health and readiness answer 200 on a working store", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const alive = yield* call(base, "GET", "/health")
      expect(alive.status).toBe(200)
      expect(alive.json).toEqual({ status: "ok" })
      const ready = yield* call(base, "GET", "/health/ready")
      expect(ready.status).toBe(200)
      expect(ready.json).toEqual({ status: "ok" })
    }))

  it.scopedLive("GET /docs serves the interactive documentation", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const docs = yield* call(base, "GET", "/docs")
      expect(docs.status).toBe(200)
      expect(docs.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(docs.text).toContain("<title>Task API</title>")
      expect(docs.text).toContain("\"/users/{user_id}/tasks\"")
    }))
})
