import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { document, documentJson } from "../src/api/Document.ts"
import { type Answer, call, serve } from "./support/http.ts"

const committed = readFileSync(new URL("../openapi.json", import.meta.url), "utf8")

describe("OpenAPI document", () => {
  it("the committed openapi.json is what the code derives (run `npm run openapi` after changing the API)", () => {
    expect(committed).toBe(documentJson)
  })

  it.scopedLive("GET /openapi.json serves the committed document", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const answer = yield* call(base, "GET", "/openapi.json")
      expect(answer.status).toBe(200)
      expect(answer.headers["content-type"]).toBe("application/json")
      expect(answer.text).toBe(committed)
    }))

  it("describes only what is sent: the envelope on every error, no HttpApiDecodeError", () => {
    expect(committed).not.toContain("HttpApiDecodeError")
    expect(document.openapi).toBe("3.1.0")
    const envelopes = new Set([
      "ValidationError",
      "NotFoundError",
      "PayloadTooLargeError",
      "UnsupportedMediaTypeError",
      "InternalError",
      "ServiceUnavailableError",
      "PreconditionFailedError",
      "IdempotencyKeyReusedError",
      "IdempotencyKeyInUseError",
      "MissingTokenError",
      "InvalidTokenError",
      "ExpiredTokenError",
      "ForbiddenError",
      "InvalidCredentialsError",
      "EmailExistsError",
      "TooManyRequestsError"
    ])
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of ["get", "post", "put", "delete"] as const) {
        const operation = item[method]
        if (operation === undefined) continue
        expect(operation.responses[500], `${method} ${path}`).toBeDefined()
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue
          // 304 has no body; a status several errors share lists each of them.
          if (status === "304") {
            expect(response.content, `${method} ${path} 304`).toBeUndefined()
            continue
          }
          const schema = response.content?.["application/json"]?.schema
          const members = schema !== undefined && "anyOf" in schema ? schema.anyOf : [schema]
          for (const member of members) {
            const ref = member !== undefined && "$ref" in member ? String(member.$ref) : ""
            expect(envelopes.has(ref.replace("#/components/schemas/", "")), `${method} ${path} ${status}: ${ref}`).toBe(true)
          }
        }
        if (path.includes("{user_id}")) expect(operation.responses[400]).toBeDefined()
      }
    }
    const schemas = document.components.schemas
    expect(JSON.stringify(schemas["ValidationError"])).toContain("VALIDATION_ERROR")
  })

  it("types ids as bounded integers, strings by code points, timestamps as date-time", () => {
    const getTask = document.paths["/users/{user_id}/tasks/{task_id}"]?.get
    for (const name of ["user_id", "task_id"]) {
      const parameter = getTask?.parameters.find((candidate) => candidate.name === name)
      expect(parameter?.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 2147483647 })
    }
    const text = JSON.stringify(document.components.schemas)
    expect(text).toContain("\"maxLength\":500")
    expect(text).toContain("\"maxLength\":5000")
    expect(JSON.stringify(document.components.schemas["Task"])).toContain("\"format\":\"date-time\"")
  })

  it("passes `redocly lint` with no errors", async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        ["node_modules/@redocly/cli/bin/cli.js", "lint", "openapi.json", "--format=stylish"],
        { cwd: new URL("..", import.meta.url), timeout: 60_000, env: { ...process.env, REDOCLY_TELEMETRY: "off" } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: stdout + stderr })
      )
    })
    expect(result.output).not.toMatch(/\berror\b.*\S/)
    expect(result.code, result.output).toBe(0)
  }, 60_000)
})

describe("the document's response headers", () => {
  it.scopedLive("every declared header the server sends is in the document, for that operation and status", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: "x".repeat(40) } })
      const json = { "content-type": "application/json" }
      const signedUp = (yield* call(base, "POST", "/auth/signup", JSON.stringify({ email: "doc@example.com", password: "long enough" }), json))
      const token = (yield* call(base, "POST", "/auth/signin", JSON.stringify({ email: "doc@example.com", password: "long enough" }), json))
        .json as { readonly access_token: string }
      const user = (signedUp.json as { readonly user_id: number }).user_id
      const auth = { authorization: `Bearer ${token.access_token}` }
      const created = yield* call(base, "POST", `/users/${user}/tasks`, JSON.stringify({ title: "t" }), { ...json, ...auth })
      const task = (created.json as { readonly id: number }).id
      yield* call(base, "POST", `/users/${user}/tasks`, JSON.stringify({ title: "u" }), { ...json, ...auth })
      const exchanges: ReadonlyArray<readonly [string, string, string, Answer]> = [
        ["post", "/users/{user_id}/tasks", "201", created],
        ["get", "/users/{user_id}/tasks/{task_id}", "200", yield* call(base, "GET", `/users/${user}/tasks/${task}`, undefined, auth)],
        ["get", "/users/{user_id}/tasks/{task_id}", "304", yield* call(base, "GET", `/users/${user}/tasks/${task}`, undefined, { ...auth, "if-none-match": String(created.headers.etag) })],
        ["get", "/users/{user_id}/tasks", "200", yield* call(base, "GET", `/users/${user}/tasks?limit=1`, undefined, auth)],
        ["put", "/users/{user_id}/tasks/{task_id}", "412", yield* call(base, "PUT", `/users/${user}/tasks/${task}`, "{}", { ...json, ...auth, "if-match": "\"t0\"" })],
        ["get", "/users/{user_id}/tasks", "401", yield* call(base, "GET", `/users/${user}/tasks`)],
        ["get", "/users/{user_id}/tasks", "403", yield* call(base, "GET", `/users/${user + 1}/tasks`, undefined, auth)],
        ["post", "/auth/signin", "200", yield* call(base, "POST", "/auth/signin", JSON.stringify({ email: "doc@example.com", password: "long enough" }), json)]
      ]
      // The headers the description can declare (the adapter's own — CORS, nosniff, date — are not the API's).
      const declarable = ["etag", "link", "location", "cache-control", "www-authenticate", "retry-after", "x-request-id"]
      for (const [method, path, status, answer] of exchanges) {
        expect(String(answer.status), `${method} ${path}`).toBe(status)
        const documented = Object.keys(
          (document.paths[path]?.[method as "get"]?.responses[Number(status)] as { readonly headers?: Record<string, unknown> } | undefined)
            ?.headers ?? {}
        ).map((name) => name.toLowerCase())
        for (const name of declarable) {
          if (answer.headers[name] !== undefined) expect(documented, `${method} ${path} ${status} sends ${name}`).toContain(name)
        }
      }
    }))
})
