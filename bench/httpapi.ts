/**
 * `npm run bench:httpapi`: the same small API (test/support/differential.ts, no database) served by
 * this project's server (src/httpapi) and by `HttpApiBuilder` + `NodeHttpServer`, measured with wrk
 * on the same machine in alternating rounds: the figure behind "why not HttpApiBuilder" in the README.
 * Options: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32).
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Duration, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import { type Edge, Handlers, NodeServer, Router } from "../src/httpapi/index.ts"
import { AgentLive, AuthLive, makeHandlers, TestApi } from "../test/support/differential.ts"
import { ensureWrk } from "./lib/wrk.ts"

const seconds = Number(process.env["BENCH_SECONDS"] ?? 5)
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3)
const connections = Number(process.env["BENCH_CONNECTIONS"] ?? 32)

const reply = (status: number) => ({ status, headers: {}, body: `{"status":${status}}` })
const edge: Edge = {
  invalid: () => reply(400),
  body: () => reply(400),
  notFound: reply(404),
  methodNotAllowed: reply(405),
  internalError: reply(500),
  malformedRequest: reply(400)
}

const ours = Effect.gen(function*() {
  const handlers = makeHandlers()
  const router = Router.make(TestApi, {
    items: Handlers.group(TestApi, "items", handlers.items),
    secure: Handlers.group(TestApi, "secure", handlers.secure)
  }, { edge, limits: { maxBytes: 1 << 20, maxDepth: 32, maxKeys: 1000 } })
  const built = yield* Layer.build(NodeServer.layer(router, {
    host: "127.0.0.1",
    port: 0,
    shutdownTimeout: Duration.seconds(1),
    headersTimeout: Duration.seconds(10),
    requestTimeout: Duration.seconds(30),
    corsOrigins: ["*"]
  }).pipe(Layer.provide([AuthLive, AgentLive])))
  return Context.get(built, NodeServer.ListeningAddress).port
})

const builder = Effect.gen(function*() {
  const handlers = makeHandlers()
  const items = HttpApiBuilder.group(TestApi, "items", (group) =>
    group.handle("special", handlers.items.special).handle("get", handlers.items.get).handle("list", handlers.items.list)
      .handle("create", handlers.items.create).handle("remove", handlers.items.remove))
  const secure = HttpApiBuilder.group(TestApi, "secure", (group) =>
    group.handle("me", handlers.secure.me).handle("owned", handlers.secure.owned)).pipe(Layer.provide([AuthLive, AgentLive]))
  const built = yield* Layer.build(HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiBuilder.api(TestApi).pipe(Layer.provide([items, secure]))),
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
  ))
  const address = Context.get(built, HttpServer.HttpServer).address
  return address._tag === "TcpAddress" ? address.port : 0
})

/** wrk as a child process: the server answers from this process's event loop meanwhile. */
const measure = (port: number): Effect.Effect<number, Error> =>
  Effect.async<number, Error>((resume) => {
    const wrk = spawn("wrk", [`-t2`, `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/items/2?upper=true`])
    let output = ""
    wrk.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    wrk.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    wrk.on("close", () => {
      const match = /Requests\/sec:\s+([\d.]+)/.exec(output)
      resume(match === null ? Effect.fail(new Error(`wrk printed no rate:\n${output}`)) : Effect.succeed(Number(match[1])))
    })
  })

const serveAndMeasure = (server: Effect.Effect<number, unknown, Scope.Scope>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const port = yield* Scope.extend(server, scope)
    yield* measure(port) // warm-up, not recorded
    const rate = yield* measure(port)
    yield* Scope.close(scope, Exit.void)
    return rate
  })

const program = Effect.gen(function*() {
  process.stdout.write(`${ensureWrk()}; GET /items/2?upper=true, ${connections} connections, ${seconds} s, ${rounds} rounds\n`)
  const results: Array<{ readonly ours: number; readonly builder: number }> = []
  for (let round = 1; round <= rounds; round++) {
    const mine = yield* serveAndMeasure(ours)
    const theirs = yield* serveAndMeasure(builder)
    results.push({ ours: mine, builder: theirs })
    process.stdout.write(`round ${round}: src/httpapi ${mine.toFixed(0)} req/s, HttpApiBuilder ${theirs.toFixed(0)} req/s\n`)
  }
  const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const [a, b] = [median(results.map((r) => r.ours)), median(results.map((r) => r.builder))]
  process.stdout.write(`median: src/httpapi ${a.toFixed(0)} req/s, HttpApiBuilder ${b.toFixed(0)} req/s, ratio ${(a / b).toFixed(2)}x\n`)
})

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.None))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
