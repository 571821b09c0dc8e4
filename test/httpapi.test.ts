import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, GlobalValue, Layer, Logger, LogLevel, Schema, type Scope, Stream } from "effect"
import * as fc from "fast-check"
import * as Http from "node:http"
import { Describe, type Edge, Handlers, NodeServer, type Reply, Respond, Router } from "../src/httpapi/index.ts"
import { FiberRoots } from "../src/httpapi/FiberRoots.ts"
import { Agent, AgentLive, AuthLive, makeHandlers, TestApi } from "./support/differential.ts"
import { type Answer, call } from "./support/http.ts"

const envelope = (status: number, code: string): Reply => ({ status, headers: {}, body: JSON.stringify({ error: code }) })

/** This test API's own error answers: a plain envelope with a code. */
const edge: Edge = {
  invalid: (part) => envelope(400, `invalid ${part}`),
  body: (failure) => envelope(failure === "TooLarge" ? 413 : failure === "UnsupportedMediaType" ? 415 : 400, failure),
  notFound: envelope(404, "no route"),
  methodNotAllowed: envelope(405, "method"),
  internalError: envelope(500, "internal"),
  malformedRequest: envelope(400, "malformed")
}

const limits = { maxBytes: 64 * 1024, maxDepth: 32, maxKeys: 1000 }

/** The test API on this project's server. */
const ours: Effect.Effect<string, unknown, Scope.Scope> = Effect.gen(function*() {
  const handlers = makeHandlers()
  const router = Router.make(TestApi, {
    items: Handlers.group(TestApi, "items", handlers.items),
    secure: Handlers.group(TestApi, "secure", handlers.secure)
  }, { edge, limits })
  const layer = NodeServer.layer(router, {
    host: "127.0.0.1",
    port: 0,
    shutdownTimeout: Duration.seconds(1),
    headersTimeout: Duration.seconds(10),
    requestTimeout: Duration.seconds(30),
    corsOrigins: ["*"]
  }).pipe(Layer.provide([AuthLive, AgentLive]))
  const built = yield* Layer.build(layer).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
  return `http://127.0.0.1:${Context.get(built, NodeServer.ListeningAddress).port}`
})

/** The same API and handlers on `HttpApiBuilder` and `NodeHttpServer`. */
const builder: Effect.Effect<string, unknown, Scope.Scope> = Effect.gen(function*() {
  const handlers = makeHandlers()
  const items = HttpApiBuilder.group(TestApi, "items", (group) =>
    group
      .handle("special", handlers.items.special)
      .handle("get", handlers.items.get)
      .handle("list", handlers.items.list)
      .handle("create", handlers.items.create)
      .handle("remove", handlers.items.remove))
  const secure = HttpApiBuilder.group(TestApi, "secure", (group) =>
    group.handle("me", handlers.secure.me).handle("owned", handlers.secure.owned)).pipe(Layer.provide([AuthLive, AgentLive]))
  const api = HttpApiBuilder.api(TestApi).pipe(Layer.provide([items, secure]))
  const server = HttpApiBuilder.serve().pipe(
    Layer.provide(api),
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
  )
  const built = yield* Layer.build(server).pipe(Logger.withMinimumLogLevel(LogLevel.None))
  const address = Context.get(built, HttpServer.HttpServer).address
  return `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
})

interface Request {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

const id = fc.constantFrom("1", "2", "3", "99", "0", "-1", "abc", "1.5", "special")
const query = fc.array(
  fc.oneof(
    fc.constantFrom("limit=0", "limit=1", "limit=5", "limit=11", "limit=x", "limit=2.5"),
    fc.constantFrom("tag=a", "tag=b", "tag=", "upper=true", "upper=false", "upper=maybe", "other=1")
  ),
  { maxLength: 4 }
).map((parts) => (parts.length === 0 ? "" : `?${parts.join("&")}`))

const request: fc.Arbitrary<Request> = fc.record({
  method: fc.constantFrom("GET", "GET", "POST", "POST", "DELETE", "PUT"),
  path: fc.oneof(
    { weight: 3, arbitrary: fc.constant("/items") },
    fc.constantFrom("/items/special", "/me", "/nope", "/"),
    id.map((value) => `/items/${value}`),
    id.map((value) => `/secure/items/${value}`),
    id.map((value) => `/items/${value}/more`)
  ),
  query,
  authorization: fc.constantFrom(undefined, "Bearer token-ada", "Bearer token-bob", "Bearer wrong", "bearer token-ada"),
  mode: fc.constantFrom(undefined, "now", "later", "soon"),
  body: fc.oneof(
    fc.record({ name: fc.oneof(fc.constantFrom("one", "two", "made"), fc.string({ maxLength: 2 })), tags: fc.constantFrom(undefined, ["a"], ["a", "b"]) }, {
      requiredKeys: []
    }).map((value) => JSON.stringify(value)),
    fc.constantFrom("[]", "null", "{\"name\":1}", "{\"tags\":\"a\"}")
  )
}).map(({ authorization, body, method, mode, path, query }) => ({
  method,
  path: path + query,
  headers: {
    ...(authorization === undefined ? {} : { authorization }),
    ...(mode === undefined ? {} : { "x-mode": mode }),
    ...(method === "POST" ? { "content-type": "application/json" } : {})
  },
  body: method === "POST" ? body : undefined
}))

const send = (base: string, r: Request): Effect.Effect<Answer> => call(base, r.method, r.path, r.body, r.headers)

/**
 * Where this server answers differently on purpose, said once: a known path with another method
 * is 405 here (404 there: HttpApiBuilder's router cannot tell), and the error bodies of failures
 * found before a handler runs are this API's envelope (HttpApiBuilder: `HttpApiDecodeError`).
 */
const deliberate = (ourAnswer: Answer, theirs: Answer): boolean => ourAnswer.status === 405 && theirs.status === 404

describe("src/httpapi against HttpApiBuilder (the same API and handlers)", () => {
  it.scopedLive("the server keeps Effect's root fibers, one per request, in a FiberRoots", () =>
    Effect.gen(function*() {
      yield* ours
      const scope: unknown = GlobalValue.globalValue(Symbol.for("effect/FiberScope/Global"), () => undefined)
      expect(typeof scope === "object" && scope !== null && "roots" in scope && scope.roots instanceof FiberRoots).toBe(true)
    }))

  it.scopedLive("the same generated requests get the same status, and successes the same body", () =>
    Effect.gen(function*() {
      const [ourBase, theirBase] = [yield* ours, yield* builder]
      const requests = fc.sample(request, { numRuns: 400, seed: 20261130 })
      const differences: Array<string> = []
      const statuses = new Set<number>()
      for (const r of requests) {
        const [mine, theirs] = [yield* send(ourBase, r), yield* send(theirBase, r)]
        statuses.add(mine.status)
        if (deliberate(mine, theirs)) continue
        if (mine.status !== theirs.status) {
          differences.push(`${r.method} ${r.path} ${JSON.stringify(r.headers)} ${r.body ?? ""}: ${mine.status} vs ${theirs.status}`)
        } else if (mine.status < 300) {
          expect(mine.json, `${r.method} ${r.path}`).toEqual(theirs.json)
        }
      }
      expect(differences).toEqual([])
      // The sample reaches every kind of answer the API has.
      expect([...statuses].sort()).toEqual([200, 201, 202, 204, 400, 401, 404, 405, 409])
    }), 60_000)

  it.scopedLive("named differences: 405 for a known path, the envelope for bodies that are not JSON", () =>
    Effect.gen(function*() {
      const [ourBase, theirBase] = [yield* ours, yield* builder]
      const put = { method: "PUT", path: "/items/1", headers: {}, body: undefined }
      expect([(yield* send(ourBase, put)).status, (yield* send(theirBase, put)).status]).toEqual([405, 404])
      // Not JSON at all: a 400 here; HttpApiBuilder lets the parse failure become a defect.
      const broken = { method: "POST", path: "/items", headers: { "content-type": "application/json" }, body: "{" }
      const [mine, theirs] = [yield* send(ourBase, broken), yield* send(theirBase, broken)]
      expect(mine.status).toBe(400)
      expect(theirs.status).toBeGreaterThanOrEqual(400)
      // A body sent as text: refused unread here (415); HttpApiBuilder decodes the text and fails (400).
      const text = { method: "POST", path: "/items", headers: { "content-type": "text/plain" }, body: "{\"name\":\"t\"}" }
      expect([(yield* send(ourBase, text)).status, (yield* send(theirBase, text)).status]).toEqual([415, 400])
    }))

  it.scopedLive("the derived client gets the same results from both servers", () =>
    Effect.gen(function*() {
      const results = (base: string) =>
        Effect.gen(function*() {
          const client = yield* HttpApiClient.make(TestApi, { baseUrl: base })
          const authed = yield* HttpApiClient.make(TestApi, {
            baseUrl: base,
            transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken("token-ada"))
          })
          return [
            yield* Effect.either(client.items.get({ path: { id: 1 }, urlParams: { upper: true } })),
            yield* Effect.either(client.items.get({ path: { id: 99 }, urlParams: {} })),
            yield* Effect.either(client.items.special()),
            yield* Effect.either(client.items.list({ urlParams: { limit: 2, tag: ["a"] } })),
            yield* Effect.either(client.items.create({ payload: { name: "made" }, headers: {} })),
            yield* Effect.either(client.items.create({ payload: { name: "queued" }, headers: { "x-mode": "later" } })),
            yield* Effect.either(client.items.create({ payload: { name: "one" }, headers: {} })),
            yield* Effect.either(client.items.remove({ path: { id: 3 } })),
            yield* Effect.either(client.items.remove({ path: { id: 3 } })),
            yield* Effect.either(client.secure.me()),
            yield* Effect.either(authed.secure.owned({ path: { id: 2 } }))
          ].map((result) => JSON.parse(JSON.stringify(result)) as unknown)
        }).pipe(Effect.provide(FetchHttpClient.layer))
      const mine = yield* results(yield* ours)
      const theirs = yield* results(yield* builder)
      expect(mine).toEqual(theirs)
      // And they are what the handlers answer: a success, a tagged error, an empty error.
      expect(mine[0]).toMatchObject({ _tag: "Right", right: { id: 1, name: "ONE" } })
      expect(mine[1]).toMatchObject({ _tag: "Left", left: { _tag: "ItemNotFound", id: 99 } })
      expect(mine[5]).toMatchObject({ _tag: "Right", right: { queued: true } })
      expect(mine[9]).toMatchObject({ _tag: "Left", left: { _tag: "Unauthorized" } })
    }))
})

describe("src/httpapi refuses what it does not serve", () => {
  const refusal = (api: Parameters<typeof Router.make>[0], implementations: Parameters<typeof Router.make>[1]) =>
    Router.make(api, implementations, { edge, limits }).pipe(
      Effect.flip,
      Effect.map((error) => error.message),
      Effect.provide(Layer.mergeAll(AuthLive, AgentLive))
    )

  const one = <E extends HttpApiEndpoint.HttpApiEndpoint.Any>(endpoint: E) =>
    HttpApi.make("refused").add(HttpApiGroup.make("g").add(endpoint))
  const ok = () => Effect.succeed({})

  it.effect("each unsupported part names the endpoint and the feature, in one line", () =>
    Effect.gen(function*() {
      const cases = [
        [one(HttpApiEndpoint.get("e", "/a/:x-:y")), "GET /a/:x-:y", "is not a plain parameter"],
        [one(HttpApiEndpoint.get("e", "/a/*/b")), "GET /a/*/b", "wildcard is only served as the last segment"],
        [one(HttpApiEndpoint.get("e", "/a/:x?/b")), "GET /a/:x?/b", "optional parameter is only served as the last segment"],
        [one(HttpApiEndpoint.get("e", "/a").setPayload(Schema.Struct({ q: Schema.String }))), "GET /a", "a payload on a method without a body"],
        [one(HttpApiEndpoint.post("e", "/a").setPayload(HttpApiSchema.Text())), "POST /a", "a Text payload"],
        [
          one(HttpApiEndpoint.post("e", "/a").setPayload(Schema.Struct({ q: Schema.String }).pipe(HttpApiSchema.withEncoding({ kind: "UrlParams" })))),
          "POST /a",
          "a UrlParams payload"
        ],
        [one(HttpApiEndpoint.get("e", "/a").addSuccess(HttpApiSchema.Text())), "GET /a", "a Text response body"],
        [
          one(HttpApiEndpoint.get("e", "/a").addError(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text" })), { status: 418 })),
          "GET /a",
          "a Text response body"
        ]
      ] as const
      for (const [api, where, feature] of cases) {
        const message = yield* refusal(api, { g: Handlers.group(api, "g", { e: ok } as never) } as never)
        expect(message).toContain(`g.e (${where})`)
        expect(message).toContain(feature)
        expect(message).not.toContain("\n")
      }
      const missing = one(HttpApiEndpoint.get("e", "/a"))
      expect(yield* refusal(missing, { g: { name: "g", handlers: {}, authorize: undefined } } as never)).toBe(
        "Cannot serve g.e (GET /a): no handler"
      )
      const apiWide = one(HttpApiEndpoint.get("e", "/a")).middleware(Agent)
      expect(yield* refusal(apiWide, { g: Handlers.group(apiWide, "g", { e: () => Effect.void }) } as never)).toContain(
        "middleware declared on the whole API"
      )
    }))
})

describe("src/httpapi answers", () => {
  const Numbers = Schema.Array(Schema.Struct({ n: Schema.Number }))
  const FeaturesApi = HttpApi.make("features").add(
    HttpApiGroup.make("f")
      .add(HttpApiEndpoint.get("tagged", "/tagged").addSuccess(Schema.Struct({ ok: Schema.Boolean })))
      .add(HttpApiEndpoint.get("rogue", "/rogue").addSuccess(Schema.Struct({ ok: Schema.Boolean })))
      .add(HttpApiEndpoint.get("numbers", "/numbers/:count").setPath(Schema.Struct({ count: Schema.NumberFromString })).addSuccess(Numbers))
      .annotate(Describe.ResponseHeaders, {
        "200": { ETag: { description: "a version" }, "Cache-Control": { description: "policy", value: "private, no-cache" } }
      })
  )
  const serveFeatures = Effect.gen(function*() {
    const numbers = (count: number) =>
      Stream.range(1, count).pipe(
        Stream.rechunk(100),
        Stream.map((n) => ({ n })),
        // Past 250 the source fails, after the status and the first items went out.
        Stream.tap((item) => (item.n === 251 ? Effect.fail("source failed") : Effect.void))
      )
    const router = Router.make(FeaturesApi, {
      f: Handlers.group(FeaturesApi, "f", {
        tagged: () => Effect.succeed(Respond.withHeaders({ ok: true }, { etag: "\"v1\"" })),
        rogue: () => Effect.succeed(Respond.withHeaders({ ok: true }, { "x-undeclared": "1" })),
        numbers: ({ path }) => Effect.succeed(Respond.streamed([{ n: 0 }], numbers(path.count)))
      })
    }, { edge, limits })
    const built = yield* Layer.build(NodeServer.layer(router, {
      host: "127.0.0.1",
      port: 0,
      shutdownTimeout: Duration.seconds(1),
      headersTimeout: Duration.seconds(10),
      requestTimeout: Duration.seconds(30),
      corsOrigins: ["*"]
    })).pipe(Logger.withMinimumLogLevel(LogLevel.None))
    return `http://127.0.0.1:${Context.get(built, NodeServer.ListeningAddress).port}`
  })

  it.scopedLive("declared headers: constants added, the handler's set under their declared names, others refused", () =>
    Effect.gen(function*() {
      const base = yield* serveFeatures
      const tagged = yield* call(base, "GET", "/tagged")
      expect(tagged.status).toBe(200)
      expect(tagged.headers.etag).toBe("\"v1\"")
      expect(tagged.headers["cache-control"]).toBe("private, no-cache")
      expect(tagged.headers["access-control-expose-headers"]).toBe("etag, x-request-id")
      // A header the description does not declare is a bug of the handler: a 500, not a silent extra.
      expect((yield* call(base, "GET", "/rogue")).status).toBe(500)
      const head = yield* call(base, "HEAD", "/tagged")
      expect([head.status, head.text, head.headers.etag, head.headers["content-length"]]).toEqual([200, "", "\"v1\"", tagged.headers["content-length"]])
    }))

  it.scopedLive("a streamed array is the whole array when its source ends, and visibly broken when it fails", () =>
    Effect.gen(function*() {
      const base = yield* serveFeatures
      const whole = yield* call(base, "GET", "/numbers/200")
      expect(whole.status).toBe(200)
      expect(whole.headers["content-length"]).toBeUndefined()
      expect(whole.json).toEqual([{ n: 0 }, ...Array.from({ length: 200 }, (_, i) => ({ n: i + 1 }))])
      const broken = yield* Effect.either(Effect.catchAllDefect(call(base, "GET", "/numbers/400"), (defect) => Effect.fail(String(defect))))
      // Either the connection breaks under the reader or what arrived is not a JSON array: never a wrong list.
      if (broken._tag === "Right") expect(broken.right.json).toBeUndefined()
      else expect(broken.left).toMatch(/aborted|socket hang up|ECONNRESET/)
    }))
})
