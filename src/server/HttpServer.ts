import { Context, Duration, Effect, FiberRef, FiberRefs, HashMap, Layer, LogLevel, Runtime } from "effect"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type * as Stream from "node:stream"
import type { ServerConfig } from "../AppConfig.ts"
import { Api } from "../api/Api.ts"
import { documentJson } from "../api/Document.ts"
import type { TaskRepository } from "../repository/TaskRepository.ts"
import { discardBody, readJson } from "./Body.ts"
import { HealthHttp } from "./HealthHttp.ts"
import { internalError, malformedRequest, methodNotAllowed, notFound, type Reply } from "./Reply.ts"
import * as Router from "./Router.ts"
import { TasksHttp } from "./TasksHttp.ts"

/**
 * The documentation page embeds Scalar's multi-megabyte script: it is loaded on the
 * first request for `/docs`, not at start-up, so a server nobody reads the docs of
 * does not carry it.
 */
const docsPage = Effect.flatMap(Effect.promise(() => import("./Docs.ts")), (docs) => docs.docsPage)

/** An answer written straight to a socket, for the requests node does not hand to `handle`. */
const rawResponse = (reply: Reply, extraHeaders: string, withBody: boolean): string =>
  `HTTP/1.1 ${reply.status} ${Http.STATUS_CODES[reply.status] ?? ""}\r\n` +
  `content-type: application/json\r\nx-content-type-options: nosniff\r\nconnection: close\r\n${extraHeaders}` +
  `content-length: ${Buffer.byteLength(reply.body)}\r\n\r\n${withBody ? reply.body : ""}`

/** The methods of a path, for `Allow`: its endpoints' and OPTIONS (CORS preflight). */
const allowHeader = (methods: ReadonlyArray<string>): string => [...methods, "OPTIONS"].join(", ")

/** An incoming `x-request-id` is echoed only when it is this sane. */
const saneRequestId = /^[A-Za-z0-9._-]{1,128}$/

interface Answer {
  readonly reply: Reply
  readonly headers?: Record<string, string>
}

export class ListeningAddress extends Context.Tag("ListeningAddress")<
  ListeningAddress,
  { readonly host: string; readonly port: number }
>() {}

/**
 * The HTTP server: node:http serving the routes compiled from `Api`. It listens only once
 * the layers it needs are built. On release it stops accepting, lets requests in flight
 * finish (up to `shutdownTimeout`), and closes every connection.
 */
export const makeHttpServer = (config: ServerConfig): Layer.Layer<ListeningAddress, Error, TaskRepository> =>
  Layer.scoped(
    ListeningAddress,
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<TaskRepository>()
      const run = Runtime.runFork(runtime)
      const router = Router.make<typeof Api, TaskRepository>(Api, { tasks: TasksHttp, health: HealthHttp })
      // Below Info, the request line is not built at all: it cost ~20 µs per request even
      // when the logger then dropped it.
      const logsRequests = LogLevel.greaterThanEqual(LogLevel.Info, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))
      const anyOrigin = config.corsOrigins.includes("*")
      const origins = new Set(config.corsOrigins)
      let closing = false

      const anyOriginHeaders = { "access-control-allow-origin": "*" }
      const noOriginHeaders = { vary: "Origin" }
      const cors = (origin: string | undefined): Record<string, string> =>
        anyOrigin
          ? anyOriginHeaders
          : origin !== undefined && origins.has(origin)
          ? { "access-control-allow-origin": origin, vary: "Origin" }
          : noOriginHeaders

      /** What to answer: everything that can go wrong is already a reply here. */
      const answer = (
        request: Http.IncomingMessage,
        method: string,
        pathname: string,
        closeAfter: () => void
      ): Effect.Effect<Answer, never, TaskRepository> => {
        if (pathname === "/openapi.json" || pathname === "/docs") {
          if (method !== "GET") return Effect.succeed({ reply: methodNotAllowed, headers: { allow: "GET" } })
          return pathname === "/docs"
            ? Effect.map(docsPage, (html) => ({
              reply: { status: 200, body: html },
              headers: { "content-type": "text/html; charset=utf-8" }
            }))
            : Effect.succeed({ reply: { status: 200, body: documentJson } })
        }
        const match = router.match(method, pathname)
        switch (match._tag) {
          case "NotFound":
            return Effect.succeed({ reply: notFound })
          case "MethodNotAllowed": {
            const allow = allowHeader(match.allow)
            // A CORS preflight (or a plain OPTIONS) on a known path.
            return Effect.succeed(
              method === "OPTIONS"
                ? {
                  reply: { status: 204, body: "" },
                  headers: {
                    allow,
                    "access-control-allow-methods": allow,
                    "access-control-allow-headers": request.headers["access-control-request-headers"] ??
                      "content-type, x-request-id",
                    "access-control-max-age": "600"
                  }
                }
                : { reply: methodNotAllowed, headers: { allow } }
            )
          }
          case "Found":
            return Effect.map(match.route.run(match.params, readJson(request, closeAfter)), (reply) => ({ reply }))
        }
      }

      const handle = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
        const started = performance.now()
        const incomingId = request.headers["x-request-id"]
        const requestId = typeof incomingId === "string" && saneRequestId.test(incomingId) ? incomingId : randomUUID()
        const method = request.method ?? "GET"
        const url = request.url ?? "/"
        const query = url.indexOf("?")
        const pathname = query === -1 ? url : url.slice(0, query)
        let closeAfter = false

        const program = Effect.suspend(() =>
          // HTTP/1.1 requires Host (RFC 9112, 3.2); node's own check would answer without the envelope.
          request.httpVersion === "1.1" && request.headers.host === undefined
            ? Effect.succeed<Answer>({ reply: malformedRequest })
            : answer(request, method, pathname, () => (closeAfter = true))
        ).pipe(
          Effect.catchAllCause((cause): Effect.Effect<Answer> =>
            Effect.as(Effect.logError("Request failed", cause), { reply: internalError })
          ),
          Effect.tap(() =>
            closeAfter ? Effect.void : Effect.catchAll(discardBody(request), () => Effect.sync(() => (closeAfter = true)))
          ),
          Effect.tap(({ headers, reply }) => {
            const body = reply.status === 204 ? "" : reply.body
            response.writeHead(reply.status, {
              "content-type": "application/json",
              "x-content-type-options": "nosniff",
              "x-request-id": requestId,
              ...cors(request.headers.origin),
              ...headers,
              ...(closeAfter || closing ? { connection: "close" } : {}),
              "content-length": Buffer.byteLength(body)
            })
            response.end(body)
            return logsRequests
              ? Effect.logInfo("request").pipe(
                Effect.annotateLogs({
                  status: reply.status,
                  duration_ms: Math.round((performance.now() - started) * 100) / 100
                })
              )
              : Effect.void
          })
        )
        // Every log line of the request carries its id, method and path: set on the fiber as
        // it is forked (an `Effect.annotateLogs` around the program cost ~10 µs per request).
        run(program, {
          updateRefs: (refs, fiberId) =>
            FiberRefs.updateAs(refs, {
              fiberId,
              fiberRef: FiberRef.currentLogAnnotations,
              value: FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations).pipe(
                HashMap.set<string, unknown>("request_id", requestId),
                HashMap.set<string, unknown>("method", method),
                HashMap.set<string, unknown>("path", pathname)
              )
            })
        })
      }

      const server = Http.createServer({
        // Checked in `handle`, so that the answer is the envelope.
        requireHostHeader: false,
        // Slow clients cannot hold a connection: headers and whole requests have deadlines,
        // checked every second.
        headersTimeout: Duration.toMillis(config.headersTimeout),
        requestTimeout: Duration.toMillis(config.requestTimeout),
        connectionsCheckingInterval: 1_000,
        keepAliveTimeout: 5_000
      }, handle)

      // An expectation other than `100-continue` is ignored (RFC 9110 allows it) rather
      // than answered with node's bare 417: the request is served as if it had none.
      server.on("checkExpectation", handle)

      // CONNECT never reaches `handle`: node hands over the socket. No route tunnels, so it
      // is a 405 on a known path and a 404 elsewhere, as any other method would be.
      server.on("connect", (request: Http.IncomingMessage, socket: Stream.Duplex) => {
        const match = router.match("CONNECT", request.url ?? "/")
        const [reply, extra] = match._tag === "MethodNotAllowed"
          ? [methodNotAllowed, `allow: ${allowHeader(match.allow)}\r\n`]
          : [notFound, ""]
        socket.end(rawResponse(reply, extra, true))
      })

      server.on("clientError", (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
        // A client too slow to send its request gets no answer; a malformed one gets a 400.
        if (!socket.writable || error.code === "ERR_HTTP_REQUEST_TIMEOUT" || error.code === "HPE_HEADER_TIMEOUT") {
          socket.destroy()
          return
        }
        // An answer to HEAD never has content, even when the rest of the request was garbage.
        const head = error.rawPacket?.subarray(0, 5).toString("latin1") === "HEAD "
        socket.end(rawResponse(malformedRequest, "", !head))
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
            // Stop accepting. Idle keep-alive connections close now, busy ones after
            // their response, which says `connection: close`.
            closing = true
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
