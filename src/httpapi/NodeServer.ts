import { type Chunk, Context, Duration, Effect, FiberRef, FiberRefs, HashMap, Layer, LogLevel, Option, Runtime, Stream } from "effect"
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:stream"
import { drain } from "./Body.ts"
import * as FiberRoots from "./FiberRoots.ts"
import type { Incoming, Reply } from "./Endpoint.ts"
import { formatTraceContext, OTHER_ROUTE, parseTraceparent, ServerObserver, UNMATCHED_ROUTE } from "./Observe.ts"
import type { Router } from "./Router.ts"

export interface ServerOptions {
  readonly port: number
  readonly host: string
  /** On release: how long requests in flight may take before connections are closed. */
  readonly shutdownTimeout: Duration.Duration
  /** A client must send its headers within this, and its whole request within `requestTimeout`. */
  readonly headersTimeout: Duration.Duration
  readonly requestTimeout: Duration.Duration
  /** Origins a browser may call from; `*` for any. */
  readonly corsOrigins: ReadonlyArray<string>
  /**
   * Answers for paths outside the API (its document, its docs page): `undefined` to route
   * the request to the API.
   */
  readonly serveOther?: (incoming: Incoming) => Effect.Effect<Reply> | undefined
}

export class ListeningAddress extends Context.Tag("httpapi/ListeningAddress")<
  ListeningAddress,
  { readonly host: string; readonly port: number }
>() {}

/** Before an answer given without reading the body: how much more of it is read and dropped. */
const DRAIN_BYTES = 8 * 1024 * 1024
const DRAIN_MILLIS = 5_000

/** An incoming `x-request-id` is echoed only when it is this sane. */
const saneRequestId = /^[A-Za-z0-9._-]{1,128}$/

const noHeaders: Readonly<Record<string, string>> = {}

/** A request's answer, with the route template that gives it (for spans and metrics). */
interface Routed {
  readonly route: string
  readonly reply: Effect.Effect<Reply, unknown, unknown>
}

/** An answer written straight to a socket, for the requests node does not hand to `handle`. */
const rawResponse = (reply: Reply, extraHeaders: string, withBody: boolean): string => {
  const body = reply.body ?? ""
  return `HTTP/1.1 ${reply.status} ${Http.STATUS_CODES[reply.status] ?? ""}\r\n` +
    `content-type: application/json\r\nx-content-type-options: nosniff\r\nconnection: close\r\n${extraHeaders}` +
    Object.entries(reply.headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${withBody ? body : ""}`
}

/**
 * Writes a chunk of strings as one socket write (corked), then waits while the socket's own
 * buffer is full. The socket, not the response, says whether to wait: a corked chunked
 * response answers `false` past its high-water mark even when uncorking then hands everything
 * to the kernel, and no `drain` follows (a hang found by the 8 × 20,000-task test).
 */
const writeChunk = (response: Http.ServerResponse, chunk: Chunk.Chunk<string>): Effect.Effect<void, Error> =>
  Effect.async<void, Error>((resume) => {
    const socket = response.socket
    if (response.destroyed || socket === null) return resume(Effect.fail(new Error("The client went away")))
    response.cork()
    for (const text of chunk) response.write(text)
    response.uncork()
    if (!socket.writableNeedDrain) return resume(Effect.void)
    const onDrain = () => {
      socket.off("close", onClose)
      resume(Effect.void)
    }
    const onClose = () => {
      socket.off("drain", onDrain)
      resume(Effect.fail(new Error("The client went away")))
    }
    socket.once("drain", onDrain)
    socket.once("close", onClose)
    return Effect.sync(() => {
      socket.off("drain", onDrain)
      socket.off("close", onClose)
    })
  })

/**
 * Serves a router compiled from an `HttpApi` description on node:http. It listens only once the
 * layers it needs are built. On release it stops accepting, lets requests in flight finish (up
 * to `shutdownTimeout`), and closes every connection.
 */
export const layer = <R, E, RR>(
  makeRouter: Effect.Effect<Router<R>, E, RR>,
  options: ServerOptions
): Layer.Layer<ListeningAddress, E | Error, R | RR> =>
  Layer.scoped(
    ListeningAddress,
    Effect.gen(function*() {
      const router = yield* makeRouter
      // A fiber per request: Effect's set of root fibers must not promote them (FiberRoots.ts).
      yield* Effect.sync(FiberRoots.untangle)
      const runtime = yield* Effect.runtime<R | RR>()
      const run = Runtime.runFork(runtime)
      const edge = router.edge
      // Below Info, the request line is not built at all: it cost ~20 µs per request even
      // when the logger then dropped it.
      const logsRequests = LogLevel.greaterThanEqual(LogLevel.Info, yield* FiberRef.get(FiberRef.currentMinimumLogLevel))
      const observer = Option.getOrUndefined(yield* Effect.serviceOption(ServerObserver))
      const traced = observer?.traced === true
      const completed = observer?.completed
      const anyOrigin = options.corsOrigins.includes("*")
      const origins = new Set(options.corsOrigins)
      // `traceresponse` is declared by the description like any other header it may answer with.
      const exposed = router.responseHeaders.join(", ")
      const allowedHeaders = router.requestHeaders.join(", ")
      let closing = false

      const anyOriginHeaders = { "access-control-allow-origin": "*", "access-control-expose-headers": exposed }
      const noOriginHeaders = { vary: "Origin" }
      const cors = (origin: string | undefined): Record<string, string> =>
        anyOrigin
          ? anyOriginHeaders
          : origin !== undefined && origins.has(origin)
          ? { "access-control-allow-origin": origin, "access-control-expose-headers": exposed, vary: "Origin" }
          : noOriginHeaders

      /** The methods of a path, for `Allow`: its endpoints' and OPTIONS (CORS preflight). */
      const allowOf = (methods: ReadonlyArray<string>): string => [...methods, "OPTIONS"].join(", ")

      const answer = (incoming: Incoming, pathname: string): Routed => {
        const other = options.serveOther?.(incoming)
        if (other !== undefined) return { route: OTHER_ROUTE, reply: other }
        const match = router.match(incoming.method, pathname)
        switch (match._tag) {
          case "NotFound":
            return { route: UNMATCHED_ROUTE, reply: Effect.succeed(edge.notFound) }
          case "MethodNotAllowed": {
            const allow = allowOf(match.allow)
            // A CORS preflight (or a plain OPTIONS) on a known path: only the headers the API reads.
            return {
              route: UNMATCHED_ROUTE,
              reply: Effect.succeed<Reply>(
                incoming.method === "OPTIONS"
                  ? {
                    status: 204,
                    body: undefined,
                    headers: {
                      allow,
                      "access-control-allow-methods": allow,
                      "access-control-allow-headers": allowedHeaders,
                      "access-control-max-age": "600"
                    }
                  }
                  : { ...edge.methodNotAllowed, headers: { ...edge.methodNotAllowed.headers, allow } }
              )
            }
          }
          case "Found":
            return { route: match.endpoint.path, reply: match.endpoint.run({ ...incoming, params: match.params }) }
        }
      }

      /** Routing runs outside any fiber: what it throws becomes the request's 500, as a handler's would. */
      const route = (request: Http.IncomingMessage, incoming: Incoming, pathname: string): Routed => {
        // HTTP/1.1 requires Host (RFC 9112, 3.2); node's own check would answer without the envelope.
        if (request.httpVersion === "1.1" && request.headers.host === undefined) {
          return { route: UNMATCHED_ROUTE, reply: Effect.succeed(edge.malformedRequest) }
        }
        try {
          return answer(incoming, pathname)
        } catch (defect) {
          return { route: UNMATCHED_ROUTE, reply: Effect.die(defect) }
        }
      }

      const handle = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
        const started = performance.now()
        const incomingId = request.headers["x-request-id"]
        const requestId = typeof incomingId === "string" && saneRequestId.test(incomingId) ? incomingId : randomUUID()
        const method = request.method ?? "GET"
        const url = request.url ?? "/"
        const queryAt = url.indexOf("?")
        const pathname = queryAt === -1 ? url : url.slice(0, queryAt)
        const incoming: Incoming = { request, method, url, query: queryAt === -1 ? "" : url.slice(queryAt + 1), params: noHeaders }

        // A body still arriving when the answer is ready is read and dropped first, up to a
        // bound, so the answer reaches a client that is still sending; one declared longer than
        // the bound is not waited for, and the connection closes after the answer.
        const send = (reply: Reply): Effect.Effect<void> =>
          request.complete
            ? write(reply, closing)
            : Number(request.headers["content-length"]) > DRAIN_BYTES
            ? write(reply, true)
            : Effect.flatMap(drain(request, DRAIN_BYTES, DRAIN_MILLIS), (whole) => write(reply, closing || !whole))

        const write = (reply: Reply, close: boolean): Effect.Effect<void> => {
          const headers: Record<string, string | number> = {
            "x-content-type-options": "nosniff",
            "x-request-id": requestId,
            ...cors(request.headers.origin),
            ...reply.headers,
            ...(close ? { connection: "close" } : noHeaders)
          }
          if (reply.body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
          if (reply.rest === undefined) {
            const body = reply.body ?? ""
            if (reply.status !== 204 && reply.status !== 304) headers["content-length"] = Buffer.byteLength(body)
            response.writeHead(reply.status, headers)
            response.end(body)
            return Effect.void
          }
          response.writeHead(reply.status, headers)
          if (method === "HEAD") {
            response.end()
            return Effect.void
          }
          response.write(reply.body ?? "")
          return Stream.runForEachChunk(reply.rest, (chunk) => writeChunk(response, chunk)).pipe(
            Effect.matchCauseEffect({
              onSuccess: () => Effect.sync(() => response.end()),
              // The status went out long ago: the body stays unfinished, the client sees it broken.
              onFailure: (cause) =>
                Effect.zipRight(
                  Effect.sync(() => response.destroy()),
                  response.destroyed ? Effect.void : Effect.logError("Streamed answer failed", cause)
                )
            })
          )
        }

        // Timed as the log line always was: up to the answer's status, before a streamed body.
        const finish = (reply: Reply): Effect.Effect<void> => {
          if (!logsRequests && completed === undefined) return send(reply)
          const millis = performance.now() - started
          completed?.({ method, route: routed.route, status: reply.status, seconds: millis / 1000 })
          return Effect.zipRight(
            send(reply),
            logsRequests
              ? Effect.logInfo("request").pipe(
                Effect.annotateLogs({ status: reply.status, duration_ms: Math.round(millis * 100) / 100 })
              )
              : Effect.void
          )
        }

        const routed = route(request, incoming, pathname)
        // The endpoint's own requirements are what `R` stands for.
        const reply = (routed.reply as Effect.Effect<Reply, unknown, R>).pipe(
          Effect.catchAllCause((cause): Effect.Effect<Reply> =>
            Effect.as(Effect.logError("Request failed", cause), edge.internalError)
          )
        )
        const program = traced
          ? Effect.useSpan(
            // Semantic conventions: "{method} {http.route}", the method alone without a route.
            routed.route === UNMATCHED_ROUTE || routed.route === OTHER_ROUTE ? method : `${method} ${routed.route}`,
            {
              kind: "server",
              parent: parseTraceparent(request.headers.traceparent),
              root: true,
              // A stack trace per request would say only "the server": it cost ~30 µs each.
              captureStackTrace: false,
              attributes: {
                "http.request.method": method,
                "url.scheme": "http",
                "network.protocol.version": request.httpVersion,
                "http.response.header.x-request-id": requestId,
                ...(routed.route === UNMATCHED_ROUTE || routed.route === OTHER_ROUTE ? noHeaders : { "http.route": routed.route })
              }
            },
            (span) =>
              Effect.flatMap(Effect.withParentSpan(reply, span), (reply) => {
                span.attribute("http.response.status_code", reply.status)
                if (reply.status >= 500) span.attribute("error.type", String(reply.status))
                return finish({ ...reply, headers: { ...reply.headers, traceresponse: formatTraceContext(span) } })
              })
          )
          : Effect.flatMap(reply, finish)
        // Every log line of the request carries its id, method and path: set on the fiber as
        // it is forked (an `Effect.annotateLogs` around the program cost ~10 µs per request).
        run(program, {
          updateRefs: (refs, fiberId) =>
            FiberRefs.updateAs(refs, {
              fiberId,
              fiberRef: FiberRef.currentLogAnnotations,
              // One mutable copy, not three persistent ones: ~0.4 KB less garbage per request.
              value: HashMap.mutate(FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations), (annotations) => {
                HashMap.set(annotations, "request_id", requestId)
                HashMap.set(annotations, "method", method)
                HashMap.set(annotations, "path", pathname)
              })
            })
        })
      }

      const server = Http.createServer({
        // Checked in `handle`, so that the answer is the API's own error.
        requireHostHeader: false,
        // Slow clients cannot hold a connection: headers and whole requests have deadlines,
        // checked every second.
        headersTimeout: Duration.toMillis(options.headersTimeout),
        requestTimeout: Duration.toMillis(options.requestTimeout),
        connectionsCheckingInterval: 1_000,
        keepAliveTimeout: 5_000
      }, handle)

      // An expectation other than `100-continue` is ignored (RFC 9110 allows it) rather
      // than answered with node's bare 417: the request is served as if it had none.
      server.on("checkExpectation", handle)

      // CONNECT never reaches `handle`: node hands over the socket. No route tunnels, so it
      // is a 405 on a known path and a 404 elsewhere, as any other method would be.
      server.on("connect", (request: Http.IncomingMessage, socket: Net.Duplex) => {
        const match = router.match("CONNECT", request.url ?? "/")
        const [reply, extra] = match._tag === "MethodNotAllowed"
          ? [edge.methodNotAllowed, `allow: ${allowOf(match.allow)}\r\n`]
          : [edge.notFound, ""]
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
        socket.end(rawResponse(edge.malformedRequest, "", !head))
      })

      yield* Effect.acquireRelease(
        Effect.async<void, Error>((resume) => {
          const onError = (error: Error) => resume(Effect.fail(error))
          server.once("error", onError)
          server.listen(options.port, options.host, () => {
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
              duration: options.shutdownTimeout,
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
      const port = typeof address === "object" && address !== null ? address.port : options.port
      yield* Effect.logInfo(`Listening on http://${options.host}:${port}`)
      return { host: options.host, port }
    })
  )
