import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Chunk, Context, Effect, Either, Exit, FiberRef, type ParseResult, Stream } from "effect"
import type * as Http from "node:http"
import { type BodyFailure, type BodyLimits, readJson } from "./Body.ts"
import { endpointCodecs, queryRecord, requestDecoder, type ResponseCodec } from "./Codecs.ts"
import type { AnyHandler } from "./Handlers.ts"
import * as Respond from "./Respond.ts"
import { credentialOf } from "./Security.ts"

/** A finished answer. Headers other than the endpoint's own are the adapter's business. */
export interface Reply {
  readonly status: number
  readonly headers: Respond.Headers
  /** `undefined`: an answer without content. */
  readonly body: string | Uint8Array | undefined
  /** The rest of a streamed body, written after `body` as it is pulled, a chunk of strings at a time. */
  readonly rest?: Stream.Stream<string, unknown>
}

export type RequestPart = "path" | "urlParams" | "headers" | "payload"

/** The answers the server gives on its own, in the API owner's error format. */
export interface Edge {
  /** A part of the request that its schema refuses. */
  readonly invalid: (part: RequestPart, error: ParseResult.ParseError) => Reply
  /** A body that cannot be read as JSON: too large (413), not JSON at all by type (415), not JSON. */
  readonly body: (failure: Exclude<BodyFailure, "Broken">) => Reply
  readonly notFound: Reply
  readonly methodNotAllowed: Reply
  readonly internalError: Reply
  readonly malformedRequest: Reply
}

export interface Incoming {
  readonly request: Http.IncomingMessage
  readonly method: string
  readonly url: string
  /** After `?`, without it; "" when there is none. */
  readonly query: string
  readonly params: Readonly<Record<string, string>>
}

export interface CompiledEndpoint {
  readonly method: string
  readonly path: string
  readonly run: (incoming: Incoming) => Effect.Effect<Reply, never, unknown>
}

type Middleware = (
  incoming: Incoming,
  inner: Effect.Effect<Reply, never, unknown>
) => Effect.Effect<Reply, never, unknown>

const noHeaders: Respond.Headers = {}

/**
 * The handler's headers, each one declared for the answer's status, merged over the constant
 * ones; a header the status does not declare is a bug (a defect).
 */
const headersFor = (codec: ResponseCodec, given: Respond.Headers): Respond.Headers | Error => {
  const names = Object.keys(given)
  if (names.length === 0) return codec.constantHeaders
  const headers: Record<string, string> = { ...codec.constantHeaders }
  for (const name of names) {
    const declared = codec.settable.get(name) ?? codec.settable.get(name.toLowerCase())
    if (declared === undefined) {
      return new Error(`A handler set the header ${name}, which is not declared for status ${codec.status}`)
    }
    headers[declared] = given[name]!
  }
  return headers
}

/** Plain code, not a chain of effects: this runs for every answer. */
const encodeWith = (codec: ResponseCodec, value: unknown, given: Respond.Headers): Effect.Effect<Reply> => {
  const headers = headersFor(codec, given)
  if (headers instanceof Error) return Effect.die(headers)
  if (codec.encode === undefined) return Effect.succeed<Reply>({ status: codec.status, headers, body: undefined })
  const encoded = codec.encode(value)
  // A value that breaks its own schema is a bug, answered as one.
  return Either.isLeft(encoded)
    ? Effect.die(encoded.left)
    : Effect.succeed<Reply>({ status: codec.status, headers, body: JSON.stringify(encoded.right) })
}

/**
 * The member that answers a value. A lone success member needs no test (its encoder checks the
 * value whole, and `is` on a large list would cost as much again); errors are class instances.
 */
const pick = (codecs: ReadonlyArray<ResponseCodec>, value: unknown, lone: boolean): ResponseCodec | undefined =>
  lone && codecs.length === 1 ? codecs[0] : codecs.find((codec) => codec.is(value))

/** How many elements of a streamed array are encoded and written at a time. */
const STREAM_CHUNK = 50

const streamedReply = (codec: ResponseCodec, answer: Respond.Streamed<unknown>): Effect.Effect<Reply> => {
  const encodeItem = codec.encodeItem
  if (encodeItem === undefined) {
    return Effect.die(new Error(`A streamed answer for status ${codec.status}, whose schema is not an array`))
  }
  const json = (item: unknown): string => {
    const encoded = encodeItem(item)
    if (Either.isLeft(encoded)) throw encoded.left
    return JSON.stringify(encoded.right)
  }
  // Only the first chunk of `head` is encoded before the status (so that a value the schema
  // refuses is still a 500): the rest of it is written like `rest`, a chunk at a time as the
  // socket drains, instead of one string of the whole head, and again one buffer in the socket.
  const first = answer.head.slice(0, STREAM_CHUNK)
  const following = Stream.fromIterable(answer.head.slice(STREAM_CHUNK)).pipe(Stream.rechunk(STREAM_CHUNK))
  const headers = headersFor(codec, answer.headers)
  if (headers instanceof Error) return Effect.die(headers)
  return Effect.try({ try: () => first.map(json).join(","), catch: (error) => error }).pipe(
    Effect.orDie,
    Effect.map((body): Reply => {
      // Strings per element, written by the adapter a chunk at a time: a chunk of large tasks
      // joined was a megabyte string (V8's large-object space) and a megabyte buffer. With
      // byte-bounded pages (SqlList.ts), eight clients listing 20,000 maximal tasks went from
      // 310 to 265-278 MB of peak RSS on Node 26, and from 250 to 180-200 MB on Node 20.
      let separator = first.length > 0 ? "," : ""
      const rest = Stream.concat(following, answer.rest).pipe(
        // The separator is a string of its own: prefixed, it made a copy of every element.
        Stream.mapChunks((items) => {
          const texts: Array<string> = []
          for (const item of items) {
            if (separator !== "") texts.push(separator)
            texts.push(json(item))
            separator = ","
          }
          return Chunk.unsafeFromArray(texts)
        }),
        Stream.concat(Stream.make("]"))
      )
      return { status: codec.status, headers, body: "[" + body, rest }
    })
  )
}

/** Either the endpoint's pipeline, or why this server cannot serve it. */
export const compile = (options: {
  readonly api: HttpApi.HttpApi.AnyWithProps
  readonly group: HttpApiGroup.HttpApiGroup.AnyWithProps
  readonly endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
  readonly handler: AnyHandler
  readonly authorize: ((path: unknown) => Effect.Effect<void, unknown, unknown>) | undefined
  /** Where the middleware implementations are found. */
  readonly context: Context.Context<never>
  readonly edge: Edge
  readonly limits: BodyLimits
}): CompiledEndpoint | string => {
  const { authorize, context, edge, endpoint, group, limits } = options
  const codecs = endpointCodecs(options.api, group, endpoint)
  if (typeof codecs === "string") return codecs
  if (endpoint.payloadSchema._tag === "Some") {
    if (!HttpMethod.hasBody(endpoint.method)) return "a payload on a method without a body (read from the query string)"
    const encoding = HttpApiSchema.getEncoding(endpoint.payloadSchema.value.ast)
    if (encoding.kind !== "Json" || HttpApiSchema.getMultipart(endpoint.payloadSchema.value.ast) !== undefined) {
      return `a ${encoding.kind} payload (only JSON is served)`
    }
  }
  const decodePath = requestDecoder(endpoint.pathSchema)
  const decodeUrlParams = requestDecoder(endpoint.urlParamsSchema)
  const urlParamsAst = endpoint.urlParamsSchema._tag === "Some" ? endpoint.urlParamsSchema.value.ast : undefined
  const decodeHeaders = requestDecoder(endpoint.headersSchema)
  const decodePayload = requestDecoder(endpoint.payloadSchema)
  // As the handler's signature promises: `HttpApiBuilder` does the same untyped call.
  const handler = options.handler as (request: Record<string, unknown>) => Effect.Effect<unknown, unknown, unknown>

  const encodeFailure = (failure: unknown): Effect.Effect<Reply> => {
    const [error, headers] = Respond.isWithHeaders(failure) ? [failure.value, failure.headers] : [failure, noHeaders]
    const codec = pick(codecs.errors, error, false)
    // An error the endpoint does not declare is a bug: a 500, logged with its cause.
    return codec === undefined ? Effect.die(error) : encodeWith(codec, error, headers)
  }

  const encodeSuccess = (success: unknown): Effect.Effect<Reply> => {
    if (Respond.isStreamed(success)) {
      const codec = codecs.successes.find((candidate) => candidate.encodeItem !== undefined)
      return codec === undefined
        ? Effect.die(new Error(`${endpoint.name}: a streamed answer for a schema that is not an array`))
        : streamedReply(codec, success)
    }
    const [value, headers] = Respond.isWithHeaders(success) ? [success.value, success.headers] : [success, noHeaders]
    const codec = pick(codecs.successes, value, true)
    return codec === undefined
      ? Effect.die(new Error(`${endpoint.name}: the handler's answer matches none of its success schemas`))
      : encodeWith(codec, value, headers)
  }

  const respond = (request: Record<string, unknown>) =>
    Effect.matchEffect(handler(request), { onFailure: encodeFailure, onSuccess: encodeSuccess })

  // After the path (and the group's authorization): url parameters, headers, then the body.
  const decodeRest = (incoming: Incoming, path: unknown): Effect.Effect<Reply, never, unknown> => {
    const request: Record<string, unknown> = { path }
    if (decodeUrlParams !== undefined) {
      const decoded = decodeUrlParams(queryRecord(incoming.query, urlParamsAst!))
      if (Either.isLeft(decoded)) return Effect.succeed(edge.invalid("urlParams", decoded.left))
      request["urlParams"] = decoded.right
    }
    if (decodeHeaders !== undefined) {
      const decoded = decodeHeaders(incoming.request.headers)
      if (Either.isLeft(decoded)) return Effect.succeed(edge.invalid("headers", decoded.left))
      request["headers"] = decoded.right
    }
    const raw = { method: incoming.method, url: incoming.url, headers: incoming.request.headers, json: undefined as unknown }
    request["raw"] = raw
    if (decodePayload === undefined) return respond(request)
    return Effect.matchEffect(readJson(incoming.request, limits), {
      // A client gone mid-body gets the answer for a body that is not JSON; nobody reads it.
      onFailure: (failure) => Effect.succeed(edge.body(failure === "Broken" ? "NotJson" : failure)),
      onSuccess: (json) => {
        raw.json = json
        const decoded = decodePayload(json)
        if (Either.isLeft(decoded)) return Effect.succeed(edge.invalid("payload", decoded.left))
        request["payload"] = decoded.right
        return respond(request)
      }
    })
  }

  const core = (incoming: Incoming): Effect.Effect<Reply, never, unknown> => {
    let path: unknown = undefined
    if (decodePath !== undefined) {
      const decoded = decodePath(incoming.params)
      if (Either.isLeft(decoded)) return Effect.succeed(edge.invalid("path", decoded.left))
      path = decoded.right
    }
    if (authorize === undefined) return decodeRest(incoming, path)
    return Effect.matchEffect(authorize(path), { onFailure: encodeFailure, onSuccess: () => decodeRest(incoming, path) })
  }

  // As `HttpApiBuilder` applies them: the group's, then the endpoint's, each wrapping the one
  // before, so the last declared runs first; a failure answers with its declared error.
  const middlewares: Array<Middleware> = []
  for (const tag of new Set([...group.middlewares, ...endpoint.middlewares])) {
    middlewares.push(middlewareOf(tag, context, encodeFailure))
  }
  let pipeline = core
  for (const middleware of middlewares) {
    const inner = pipeline
    pipeline = (incoming) => middleware(incoming, inner(incoming))
  }
  return { method: endpoint.method, path: endpoint.path, run: pipeline }
}

/** The request as `HttpApiBuilder` hands it to a plain middleware (without its body). */
const serverRequest = (incoming: Incoming) => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(incoming.request.headers)) {
    if (typeof value === "string") headers.set(name, value)
    else if (Array.isArray(value)) for (const item of value) headers.append(name, item)
  }
  const request = HttpServerRequest.fromWeb(
    new Request(`http://${incoming.request.headers.host ?? "localhost"}${incoming.url}`, { method: incoming.method, headers })
  )
  return Context.make(HttpServerRequest.HttpServerRequest, request).pipe(
    Context.add(HttpServerRequest.ParsedSearchParams, Object.fromEntries(new URLSearchParams(incoming.query)))
  )
}

type MiddlewareTag = HttpApiMiddleware.TagClassAny & {
  readonly provides?: Context.Tag<unknown, unknown>
  readonly optional?: boolean
}

const middlewareOf = (
  tag: HttpApiMiddleware.TagClassAny,
  context: Context.Context<never>,
  encodeFailure: (failure: unknown) => Effect.Effect<Reply>
): Middleware => {
  const described = tag as MiddlewareTag
  // The implementation the server was built with (`Router.make` requires it in its context).
  const implementation: unknown = Context.unsafeGet(context, tag as unknown as Context.Tag<unknown, unknown>)
  let run: (incoming: Incoming) => Effect.Effect<unknown, unknown, unknown>
  if (HttpApiMiddleware.isSecurity(tag)) {
    const schemes = Object.entries(tag.security).map(([key, security]) => ({
      security,
      handle: (implementation as Record<string, (credential: unknown) => Effect.Effect<unknown, unknown, unknown>>)[key]!
    }))
    // One scheme (the usual case) is called at once, so that an answer given without waiting
    // is seen as one; a throw is the request's 500 either way.
    const only = schemes.length === 1 ? schemes[0] : undefined
    run = only !== undefined
      ? (incoming) => only.handle(credentialOf(only.security, incoming.request, incoming.query))
      : (incoming) => {
        let attempt: Effect.Effect<unknown, unknown, unknown> | undefined
        for (const { handle, security } of schemes) {
          const next = Effect.suspend(() => handle(credentialOf(security, incoming.request, incoming.query)))
          attempt = attempt === undefined ? next : Effect.catchAll(attempt, () => next)
        }
        return attempt ?? Effect.void
      }
  } else {
    const effect = implementation as Effect.Effect<unknown, unknown, unknown>
    run = (incoming) => Effect.provide(effect, serverRequest(incoming))
  }
  const provides = described.provides
  // The service goes into the request fiber's context for the rest of the request, without
  // `Effect.provideService`'s restore: what follows the middleware is the server's own code. The
  // context is reused while the principal and the context around it are the same objects (every
  // request in open mode): each `Context.add` copied the whole application context, and the
  // provide-and-restore copied the fiber's refs twice, ~4 KB of garbage per request.
  let lastAround: Context.Context<never> | undefined
  let lastService: unknown
  let lastContext: Context.Context<never> | undefined
  const withService = (service: unknown, inner: Effect.Effect<Reply, never, unknown>): Effect.Effect<Reply, never, unknown> =>
    provides === undefined ? inner : Effect.contextWithEffect((around: Context.Context<never>) => {
      if (around !== lastAround || service !== lastService || lastContext === undefined) {
        lastContext = Context.add(around, provides, service)
        lastAround = around
        lastService = service
      }
      return Effect.zipRight(FiberRef.set(FiberRef.currentContext, lastContext), inner)
    })
  return (incoming, inner) => {
    const result = run(incoming)
    // A credential checked without waiting (open mode, a cached token) needs no continuation.
    if (Exit.isExit(result) && Exit.isSuccess(result)) return withService(result.value, inner)
    return Effect.matchEffect(result, {
      onFailure: (failure) => described.optional === true ? inner : encodeFailure(failure),
      onSuccess: (service) => withService(service, inner)
    })
  }
}
