import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { attribute, listeningSockets, type OtlpSpan, otlpReceiver, SPAN_KIND_SERVER } from "./support/otlp.ts"
import { call, json } from "./support/http.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { type Service, startService } from "./support/service.ts"

/**
 * Traces and metrics of the service as an operator runs it: a separate process, exporting to
 * an OTLP/HTTP receiver inside the test, scraped on its metrics port.
 */

const SECRET = "telemetry-test-secret-of-at-least-32-bytes"
const PASSWORD = "correct horse battery staple"
const TITLE = "Task text that must stay out of traces"
const CALLER = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }

/** SIGTERM, as an orchestrator stops it: the exporter sends what it still holds. */
const stop = (service: Service) =>
  Effect.promise(() => {
    service.process.kill("SIGTERM")
    return service.exited
  })

const metricsBase = (service: Service): string => {
  const port = /Metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(service.output())?.[1]
  if (port === undefined) throw new Error(`No metrics line in:\n${service.output()}`)
  return `http://127.0.0.1:${port}`
}

/** A series' value from Prometheus text: `name{labels} value`, labels as written by prom-client. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((line) => line.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const traceresponse = (value: string | Array<string> | undefined) => {
  const parts = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(value))
  expect(parts, `traceresponse ${value}`).not.toBeNull()
  return { traceId: parts![1]!, spanId: parts![2]! }
}

describe("traces and metrics", () => {
  it.scopedLive("a span per request, its statements as children linked to it, and the metrics of it all", () =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver
      const service = yield* startService({
        DATABASE_URL: Redacted.value(yield* freshDatabaseUrl),
        AUTH_JWT_SECRET: SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "task-api-under-test",
        METRICS_PORT: "0"
      })
      expect(listeningSockets(service.process.pid!)).toBe(2)

      const credentials = json({ email: "ops@example.com", password: PASSWORD })
      const jsonType = { "content-type": "application/json" }
      const signup = yield* call(service.base, "POST", "/auth/signup", credentials, jsonType)
      const userId = Number((signup.json as { user_id: number }).user_id)
      const signin = yield* call(service.base, "POST", "/auth/signin", credentials, jsonType)
      const token = String((signin.json as { access_token: string }).access_token)
      const auth = { authorization: `Bearer ${token}` }

      const created = yield* call(service.base, "POST", `/users/${userId}/tasks`, json({ title: TITLE }), {
        ...jsonType,
        ...auth,
        traceparent: `00-${CALLER.traceId}-${CALLER.spanId}-01`
      })
      expect(created.status).toBe(201)
      const taskId = (created.json as { id: number }).id
      // Together, so that some of them share a statement.
      const reads = yield* Effect.all(
        Array.from({ length: 12 }, () => call(service.base, "GET", `/users/${userId}/tasks/${taskId}`, undefined, auth)),
        { concurrency: "unbounded" }
      )
      expect(reads.map((read) => read.status)).toEqual(Array(12).fill(200))
      const missing = yield* call(service.base, "GET", `/users/${userId}/tasks/999999`, undefined, auth)
      expect(missing.status).toBe(404)

      const metrics = yield* call(metricsBase(service), "GET", "/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers["content-type"]).toContain("text/plain")
      const text = metrics.text
      const requests = (method: string, route: string, status: number) =>
        sample(text, `http_server_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`)
      expect(requests("POST", "/users/:user_id/tasks", 201)).toBe(1)
      expect(requests("GET", "/users/:user_id/tasks/:task_id", 200)).toBe(12)
      expect(requests("GET", "/users/:user_id/tasks/:task_id", 404)).toBe(1)
      const seconds = sample(text, `http_server_request_duration_seconds_sum{method="GET",route="/users/:user_id/tasks/:task_id",status="200"}`)
      expect(seconds).toBeGreaterThan(0)
      expect(seconds).toBeLessThan(60)
      // Every read and the create went through a batch; 12 reads in fewer batches than 12 is likely, not certain.
      expect(sample(text, "db_batch_size_sum")).toBeGreaterThanOrEqual(14)
      expect(sample(text, "db_batch_size_count")).toBeGreaterThanOrEqual(1)
      const idle = sample(text, `db_pool_connections{state="idle"}`)!
      const inUse = sample(text, `db_pool_connections{state="in_use"}`)!
      expect(idle + inUse).toBeGreaterThanOrEqual(1)
      expect(idle + inUse).toBeLessThanOrEqual(10)
      expect(sample(text, "db_pool_waiting_requests")).toBe(0)
      expect(sample(text, "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0)
      expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(10_000_000)
      expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(1_000_000)
      // Metrics are not served with the API.
      expect((yield* call(service.base, "GET", "/metrics")).status).toBe(404)

      expect(yield* stop(service)).toBe(0)
      expect(receiver.paths().every((path) => path === "/v1/traces")).toBe(true)
      const spans = receiver.spans()
      const byId = new Map(spans.map((span) => [span.spanId, span]))
      const statementsLinkedTo = (server: OtlpSpan) =>
        spans.filter((span) => span.name === "sql.execute" && span.links.some((link) => link.spanId === server.spanId))

      // The create: the caller's child, its attributes by the semantic conventions.
      const create = traceresponse(created.headers.traceresponse)
      expect(create.traceId).toBe(CALLER.traceId)
      const createSpan = byId.get(create.spanId)!
      expect(createSpan).toMatchObject({
        traceId: CALLER.traceId,
        parentSpanId: CALLER.spanId,
        kind: SPAN_KIND_SERVER,
        name: "POST /users/:user_id/tasks"
      })
      expect(attribute(createSpan, "http.request.method")).toBe("POST")
      expect(attribute(createSpan, "http.route")).toBe("/users/:user_id/tasks")
      expect(Number(attribute(createSpan, "http.response.status_code"))).toBe(201)
      expect(attribute(createSpan, "http.response.header.x-request-id")).toBe(created.headers["x-request-id"])
      const insert = statementsLinkedTo(createSpan)
      expect(insert.length).toBeGreaterThanOrEqual(1)
      expect(insert.every((span) => span.parentSpanId === createSpan.spanId && span.traceId === CALLER.traceId)).toBe(true)

      // Each read: a root of its own trace, shown the statement that answered it, which is
      // the child of one of the requests it served and linked to each of them.
      for (const read of reads) {
        const { spanId, traceId } = traceresponse(read.headers.traceresponse)
        const server = byId.get(spanId)!
        expect(server).toMatchObject({ traceId, kind: SPAN_KIND_SERVER, name: "GET /users/:user_id/tasks/:task_id" })
        expect(server.parentSpanId ?? "").toBe("")
        const [statement, ...more] = statementsLinkedTo(server)
        expect(more).toEqual([])
        const parent = byId.get(statement!.parentSpanId!)!
        expect(statement!.links.map((link) => link.spanId)).toContain(parent.spanId)
        expect(statement!.traceId).toBe(parent.traceId)
        for (const link of statement!.links) expect(byId.get(link.spanId)?.kind).toBe(SPAN_KIND_SERVER)
        const size = attribute(statement!, "db.operation.batch.size")
        expect(size === undefined ? 1 : Number(size)).toBe(statement!.links.length)
      }
      const notFound = byId.get(traceresponse(missing.headers.traceresponse).spanId)!
      expect(Number(attribute(notFound, "http.response.status_code"))).toBe(404)

      // No task text, password, token or secret anywhere in what was exported.
      const exported = receiver.raw()
      for (const secret of [TITLE, PASSWORD, token, token.split(".")[2]!, SECRET, "ops@example.com"]) {
        expect(exported).not.toContain(secret)
      }
      expect(exported).toContain("task-api-under-test")
    }), { timeout: 90_000 })

  it.scopedLive("without OTEL_* or METRICS_PORT: no span exported, no trace header, no second listener", () =>
    Effect.gen(function*() {
      const receiver = yield* otlpReceiver
      const service = yield* startService({ DATABASE_URL: Redacted.value(yield* freshDatabaseUrl) })
      expect(listeningSockets(service.process.pid!)).toBe(1)
      const created = yield* call(service.base, "POST", "/users/3/tasks", json({ title: TITLE }), {
        "content-type": "application/json",
        traceparent: `00-${CALLER.traceId}-${CALLER.spanId}-01`
      })
      expect(created.status).toBe(201)
      expect(created.headers.traceresponse).toBeUndefined()
      // Declared in the description (so listed for CORS in every mode), but not sent when tracing is off.
      expect(service.output()).not.toContain("Metrics on")
      expect(yield* stop(service)).toBe(0)
      expect(receiver.paths()).toEqual([])
    }), { timeout: 90_000 })
})
