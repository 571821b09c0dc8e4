import { Effect } from "effect"
import * as Http from "node:http"
import * as Prometheus from "prom-client"
import type { PoolCountsShape } from "../database/PoolCounts.ts"
import type { CompletedRequest } from "../httpapi/Observe.ts"
import type { MetricsSettings } from "./OperationsConfig.ts"

/**
 * Prometheus metrics, with prom-client: the exposition format, the histograms and Node's
 * runtime metrics (event-loop delay from `monitorEventLoopDelay`, memory, heap, GC) come
 * ready-made and well tested. Effect's own `Metric` would need all of that written here,
 * and records through a global registry even when nothing reads it; this registry exists
 * only when METRICS_PORT is set, and recording costs one histogram update.
 */
export interface MetricsShape {
  readonly registry: Prometheus.Registry
  readonly requestCompleted: (request: CompletedRequest) => void
  readonly batchSent: (size: number) => void
}

/** A registry of its own: made only when METRICS_PORT is set, nothing registered globally. */
export const make = (): MetricsShape => {
  const registry = new Prometheus.Registry()
  Prometheus.collectDefaultMetrics({ register: registry })
  // OpenTelemetry's `http.server.request.duration`, as Prometheus names it; its `_count` is
  // the number of requests.
  const requests = new Prometheus.Histogram({
    name: "http_server_request_duration_seconds",
    help: "Time to answer a request, up to its status line (a streamed list's later chunks excluded)",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  const batches = new Prometheus.Histogram({
    name: "db_batch_size",
    help: "Requests answered by one batched statement (a batch's members run again alone count as batches of one)",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry]
  })
  return {
    registry,
    // The method label stays bounded: node's parser accepts only the methods it knows.
    requestCompleted: (request) =>
      requests.observe({ method: request.method, route: request.route, status: request.status }, request.seconds),
    batchSent: (size) => batches.observe(size)
  }
}

/** The pool's counters, read at each scrape. */
export const registerPool = (registry: Prometheus.Registry, pool: PoolCountsShape) => Effect.sync(() => {
  new Prometheus.Gauge({
    name: "db_pool_connections",
    help: "Connections of the pool, by state",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      this.set({ state: "in_use" }, pool.totalCount - pool.idleCount)
      this.set({ state: "idle" }, pool.idleCount)
    }
  })
  new Prometheus.Gauge({
    name: "db_pool_waiting_requests",
    help: "Queries waiting for a connection of the pool",
    registers: [registry],
    collect() {
      this.set(pool.waitingCount)
    }
  })
})

export interface MetricsAddress {
  readonly host: string
  readonly port: number
}

/**
 * `GET /metrics` on its own listener (METRICS_HOST:METRICS_PORT), never the API's, so that it
 * is not exposed with the API. Anything else there is a 404.
 */
export const serve = (metrics: MetricsShape, settings: MetricsSettings) =>
  Effect.gen(function*() {
    const server = Http.createServer((request, response) => {
      const path = (request.url ?? "/").split("?", 1)[0]
      if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
        response.writeHead(404, { "content-type": "text/plain" }).end("Not found\n")
        return
      }
      metrics.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(request.method === "HEAD" ? "" : text),
        () => response.writeHead(500, { "content-type": "text/plain" }).end("Metrics failed\n")
      )
    })
    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        const onError = (error: Error) => resume(Effect.fail(error))
        server.once("error", onError)
        server.listen(settings.port, settings.host, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : settings.port
    yield* Effect.logInfo(`Metrics on http://${settings.host}:${port}/metrics`)
    return { host: settings.host, port }
  })
