import { Cause, type ConfigError, Context, Effect, Layer, Runtime } from "effect"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import { ServerConfig } from "../AppConfig.ts"
import { Api } from "../api/Api.ts"
import { documentJson } from "../api/Document.ts"
import type { TaskRepository } from "../repository/TaskRepository.ts"
import { docsPage } from "./Docs.ts"
import { HealthHttp } from "./HealthHttp.ts"
import { type Reply, internalError, invalidJson, methodNotAllowed, notFound, payloadTooLarge } from "./Reply.ts"
import * as Router from "./Router.ts"
import { TasksHttp } from "./TasksHttp.ts"

/** Bodies above this are refused with 413, without being read whole. */
export const MAX_BODY_BYTES = 1024 * 1024

/** An incoming `x-request-id` is echoed only when it is this sane. */
const saneRequestId = /^[A-Za-z0-9._-]{1,128}$/

const baseHeaders = {
  "content-type": "application/json",
  "x-content-type-options": "nosniff"
} as const

/**
 * Reads the body, at most `MAX_BODY_BYTES`, and parses it as JSON whatever the
 * Content-Type says (a client that forgets the header still means JSON).
 */
const readJson = (request: Http.IncomingMessage, onTooLarge: () => void): Effect.Effect<unknown, Reply> =>
  Effect.async<unknown, Reply>((resume) => {
    const declared = Number(request.headers["content-length"])
    if (declared > MAX_BODY_BYTES) {
      onTooLarge()
      return resume(Effect.fail(payloadTooLarge))
    }
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        cleanup()
        onTooLarge()
        resume(Effect.fail(payloadTooLarge))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      const text = Buffer.concat(chunks, size).toString("utf8")
      try {
        resume(Effect.succeed(JSON.parse(text)))
      } catch {
        resume(Effect.fail(invalidJson))
      }
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(invalidJson))
    }
    const cleanup = () => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
  })

/**
 * The HTTP server: node:http serving the routes compiled from `Api`. It starts
 * listening only once the layers it needs are built, and on release it stops
 * accepting, lets requests in flight finish (up to `SHUTDOWN_TIMEOUT`), then closes.
 */
export class ListeningAddress extends Context.Tag("ListeningAddress")<
  ListeningAddress,
  { readonly host: string; readonly port: number }
>() {}

export const makeHttpServer = (config: ServerConfig): Layer.Layer<ListeningAddress, Error, TaskRepository> =>
  Layer.scoped(
  ListeningAddress,
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<TaskRepository>()
    const router = Router.make<typeof Api, TaskRepository>(Api, { tasks: TasksHttp, health: HealthHttp })
    const allowOrigin = config.corsOrigins.includes("*") ? undefined : new Set(config.corsOrigins)

    const corsHeaders = (origin: string | undefined): Record<string, string> => {
      if (allowOrigin === undefined) return { "access-control-allow-origin": "*" }
      if (origin !== undefined && allowOrigin.has(origin)) {
        return { "access-control-allow-origin": origin, vary: "Origin" }
      }
      return { vary: "Origin" }
    }

    const handle = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
      const started = performance.now()
      const incomingId = request.headers["x-request-id"]
      const requestId = typeof incomingId === "string" && saneRequestId.test(incomingId) ? incomingId : randomUUID()
      const method = request.method ?? "GET"
      const url = request.url ?? "/"
      const query = url.indexOf("?")
      const pathname = query === -1 ? url : url.slice(0, query)
      const headers: Record<string, string> = {
        ...baseHeaders,
        "x-request-id": requestId,
        ...corsHeaders(request.headers.origin)
      }
      let closeAfter = false

      const send = (status: number, body: string, extra?: Record<string, string>) => {
        if (closeAfter) headers.connection = "close"
        response.writeHead(status, { ...headers, ...extra, "content-length": Buffer.byteLength(body) })
        response.end(body)
      }

      const answer: Effect.Effect<{ readonly reply: Reply; readonly extra?: Record<string, string> }, never, TaskRepository> =
        Effect.suspend(() => {
          if (method === "GET" && pathname === "/openapi.json") {
            return Effect.succeed({ reply: { status: 200, body: documentJson } })
          }
          if (method === "GET" && pathname === "/docs") {
            return Effect.map(docsPage, (html) => ({
              reply: { status: 200, body: html },
              extra: { "content-type": "text/html; charset=utf-8" }
            }))
          }
          const match = router.match(method, pathname)
          switch (match._tag) {
            case "NotFound":
              return Effect.succeed({ reply: notFound })
            case "MethodNotAllowed": {
              const allow = [...match.allow, "OPTIONS"].join(", ")
              if (method === "OPTIONS") {
                return Effect.succeed({
                  reply: { status: 204, body: "" },
                  extra: {
                    allow,
                    "access-control-allow-methods": allow,
                    "access-control-allow-headers": request.headers["access-control-request-headers"] ??
                      "content-type, x-request-id",
                    "access-control-max-age": "600"
                  }
                })
              }
              return Effect.succeed({ reply: methodNotAllowed, extra: { allow } })
            }
            case "Found": {
              const body = readJson(request, () => {
                closeAfter = true
              })
              return Effect.map(match.route.run(match.params, body), (reply) => ({ reply }))
            }
          }
        }).pipe(
          Effect.catchAllCause((cause) =>
            Effect.as(Effect.logError("Request failed", cause), { reply: internalError })
          )
        )

      const program = answer.pipe(
        Effect.tap(({ extra, reply }) =>
          Effect.sync(() => {
            const body = reply.status === 204 ? "" : reply.body
            send(reply.status, body, extra)
          }).pipe(
            Effect.zipRight(
              Effect.logInfo("request").pipe(
                Effect.annotateLogs({
                  status: reply.status,
                  duration_ms: Math.round((performance.now() - started) * 100) / 100
                })
              )
            )
          )
        ),
        Effect.annotateLogs({ request_id: requestId, method, path: pathname })
      )

      Runtime.runFork(runtime)(program).addObserver((exit) => {
        // Only an interruption while shutting down can end up here.
        if (exit._tag === "Failure" && !response.headersSent) {
          send(internalError.status, internalError.body)
          if (!Cause.isInterruptedOnly(exit.cause)) console.error(Cause.pretty(exit.cause))
        }
      })
    }

    const server = Http.createServer({
      // Slow clients cannot hold a connection forever.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000
    }, handle)
    server.on("clientError", (error, socket) => {
      if (socket.writable) {
        const body = JSON.stringify({ error: { code: "VALIDATION_ERROR", message: "Malformed HTTP request", details: { field: "body", constraint: "type", expected: "an HTTP/1.1 request" } } })
        socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      }
      void error
    })

    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        const onError = (error: Error) => resume(Effect.fail(error))
        server.once("error", onError)
        server.listen(config.port, config.host, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          // Stop accepting; requests in flight finish, idle keep-alive sockets close.
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
        }).pipe(
          Effect.timeoutTo({
            duration: config.shutdownTimeout,
            onSuccess: () => Effect.logInfo("HTTP server closed"),
            onTimeout: () =>
              Effect.sync(() => server.closeAllConnections()).pipe(
                Effect.zipRight(Effect.logWarning("Shutdown timeout: open connections were closed"))
              )
          }),
          Effect.flatten
        )
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : config.port
    yield* Effect.logInfo(`Listening on http://${config.host}:${port}`)
    return { host: config.host, port }
  })
)

/** The server configured from the environment (`PORT`, `HOST`, …). */
export const HttpServerLive: Layer.Layer<ListeningAddress, Error | ConfigError.ConfigError, TaskRepository> = Layer
  .unwrapEffect(Effect.map(ServerConfig, makeHttpServer))
