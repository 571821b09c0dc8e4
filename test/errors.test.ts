import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { FailingRepository } from "./support/failing.ts"
import { asError, call, json, serve } from "./support/http.ts"

/** Every failure of a lower layer leaves as the 500 envelope, and only as that. */
describe("internal errors", () => {
  it.scopedLive("a database failure is a 500 envelope with nothing internal in it, logged with its cause", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, cause, message }) => {
        lines.push(JSON.stringify({ message, cause: String(cause), annotations: Object.fromEntries(annotations) }))
      })
      const base = yield* serve(FailingRepository, { logLevel: LogLevel.Info }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      const requests = [
        ["GET", "/users/1/tasks", undefined],
        ["POST", "/users/1/tasks", json({ title: "t" })],
        ["GET", "/users/1/tasks/1", undefined],
        ["PUT", "/users/1/tasks/1", json({ title: "t" })],
        ["DELETE", "/users/1/tasks/1", undefined]
      ] as const
      for (const [method, path, body] of requests) {
        const answer = yield* call(base, method, path, body, { "x-request-id": `req-${method}` })
        expect(answer.status).toBe(500)
        expect(asError(answer)).toEqual({ code: "INTERNAL_ERROR", message: "Internal server error" })
        for (const leak of ["SELECT", "PgDatabaseError", "/app/src", "tasks\\\"", "stack", "Error:"]) {
          expect(answer.text).not.toContain(leak)
        }
      }
      const failures = lines.filter((line) => line.includes("\"Request failed\""))
      expect(failures).toHaveLength(requests.length)
      for (const [method] of requests) {
        const line = failures.find((candidate) => candidate.includes(`req-${method}`))
        expect(line).toContain("SELECT secret FROM tasks")
      }
      const ready = yield* call(base, "GET", "/health/ready", undefined, { "x-request-id": "ready-check" })
      expect(ready.status).toBe(503)
      // A line logged by a handler carries the request's id too.
      const warning = lines.find((line) => line.includes("\"Readiness check failed\""))
      expect(warning).toContain("\"request_id\":\"ready-check\"")
      expect(warning).toContain("\"path\":\"/health/ready\"")
      expect(asError(ready)).toEqual({ code: "SERVICE_UNAVAILABLE", message: "Database is not available" })
      const alive = yield* call(base, "GET", "/health")
      expect(alive.status).toBe(200)
    }))

  it.scopedLive("each request is logged once at info with method, path, status, duration and request id", () =>
    Effect.gen(function*() {
      const lines: Array<Record<string, unknown>> = []
      const capture = Logger.make(({ annotations, message, logLevel }) => {
        lines.push({ message, level: logLevel.label, ...Object.fromEntries(annotations) })
      })
      const base = yield* serve(undefined, { logLevel: LogLevel.Info }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      yield* call(base, "GET", "/users/3/tasks", undefined, { "x-request-id": "trace-me" })
      const requestLines = lines.filter((line) => line["request_id"] === "trace-me")
      expect(requestLines).toHaveLength(1)
      expect(requestLines[0]).toMatchObject({
        level: "INFO",
        method: "GET",
        path: "/users/3/tasks",
        status: 200,
        request_id: "trace-me"
      })
      expect(typeof requestLines[0]!["duration_ms"]).toBe("number")
    }))

  it.scopedLive("below info there is no request line", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push(String(message))
      })
      const base = yield* serve(undefined, { logLevel: LogLevel.Warning }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect((yield* call(base, "GET", "/users/3/tasks")).status).toBe(200)
      expect(lines.filter((line) => line.includes("request"))).toEqual([])
    }))
})
