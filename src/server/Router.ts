import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Effect, Either, ParseResult, Schema, SchemaAST } from "effect"
import { ValidationError, Validation } from "../domain/index.ts"
import { decoder, encoder } from "../schema/Compile.ts"
import type { ApiHandlers } from "./Handlers.ts"
import { type Reply, replyError } from "./Reply.ts"

/**
 * The server's routes, compiled once at start-up from the `HttpApi` description and the
 * handlers that implement it. Path, payload, success and error codecs are all the
 * endpoints' own schemas; nothing here knows about tasks.
 */
export interface Route<R> {
  readonly method: string
  /**
   * Runs the endpoint. `body` yields the parsed JSON body or fails with the reply to
   * send instead (too large, not JSON); it is only run for endpoints with a payload,
   * after the path parameters have been checked.
   */
  readonly run: (params: Readonly<Record<string, string>>, body: Effect.Effect<unknown, Reply>) => Effect.Effect<Reply, never, R>
}

export type Match<R> =
  | { readonly _tag: "Found"; readonly route: Route<R>; readonly params: Readonly<Record<string, string>> }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<string> }
  | { readonly _tag: "NotFound" }

export interface Router<R> {
  readonly match: (method: string, pathname: string) => Match<R>
}

interface ErrorCodec {
  readonly is: (u: unknown) => boolean
  readonly status: number
  readonly encode: (u: unknown) => unknown
}

/** `HttpApi` adds its own decode error to every API; this server never sends it. */
const isBuiltinDecodeError = (ast: SchemaAST.AST) =>
  SchemaAST.getIdentifierAnnotation(ast).pipe((id) => id._tag === "Some" && id.value === "HttpApiDecodeError")

const unionMembers = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> =>
  SchemaAST.isUnion(ast) ? ast.types.flatMap(unionMembers) : [ast]

/**
 * The endpoint schemas of this API need no services to run (the description is
 * shared with clients); rebuilding a schema from its AST states that in the type.
 */
const contextFree = (schema: Schema.Schema.All): Schema.Schema<unknown, unknown> => Schema.make(schema.ast)

const errorCodecs = (schemas: ReadonlyArray<Schema.Schema.All>): ReadonlyArray<ErrorCodec> =>
  schemas.flatMap((schema) =>
    unionMembers(schema.ast)
      .filter((ast) => !isBuiltinDecodeError(ast) && !SchemaAST.isNeverKeyword(ast))
      .map((ast) => {
        const member = Schema.make<unknown, unknown, never>(ast)
        return {
          is: Schema.is(Schema.typeSchema(member)),
          status: HttpApiSchema.getStatusErrorAST(ast),
          encode: Schema.encodeSync(member)
        }
      })
  )

const invalid = (error: ParseResult.ParseError): Reply =>
  replyError(400, ValidationError.fromViolation(Validation.violationOf(error.issue), Validation.describe))

type AnyEndpoint = HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
type AnyHandler<R> = (request: { readonly path?: unknown; readonly payload?: unknown }) => Effect.Effect<unknown, unknown, R>

const compileEndpoint = <R>(
  api: HttpApi.HttpApi.AnyWithProps,
  group: HttpApiGroup.HttpApiGroup.AnyWithProps,
  endpoint: AnyEndpoint,
  handler: AnyHandler<R>
): Route<R> => {
  // Compiled from the endpoint's schemas (see Compile.ts); a failure is Schema's own error.
  const decodePath = endpoint.pathSchema._tag === "Some" ? decoder(contextFree(endpoint.pathSchema.value)) : undefined
  const decodePayload = endpoint.payloadSchema._tag === "Some"
    ? decoder(contextFree(endpoint.payloadSchema.value))
    : undefined
  const successStatus = HttpApiSchema.getStatusSuccessAST(endpoint.successSchema.ast)
  const encodeSuccess = encoder(contextFree(endpoint.successSchema))
  const errors = errorCodecs([endpoint.errorSchema, group.errorSchema, api.errorSchema])

  const respond = (request: { readonly path?: unknown; readonly payload?: unknown }) =>
    handler(request).pipe(
      Effect.flatMap((value) =>
        Either.match(encodeSuccess(value), {
          // A handler whose result breaks its own schema is a bug, answered as one.
          onLeft: (error) => Effect.die(error),
          onRight: (encoded) => Effect.succeed<Reply>({ status: successStatus, body: JSON.stringify(encoded) })
        })
      ),
      Effect.catchAll((failure) => {
        const codec = errors.find((candidate) => candidate.is(failure))
        return codec === undefined
          ? Effect.die(failure)
          : Effect.succeed<Reply>({ status: codec.status, body: JSON.stringify(codec.encode(failure)) })
      })
    )

  return {
    method: endpoint.method,
    run: (params, body) => {
      let path: unknown = undefined
      if (decodePath !== undefined) {
        const decoded = decodePath(params)
        if (Either.isLeft(decoded)) return Effect.succeed(invalid(decoded.left))
        path = decoded.right
      }
      if (decodePayload === undefined) return respond({ path })
      return Effect.matchEffect(body, {
        onFailure: Effect.succeed,
        onSuccess: (json) =>
          Either.match(decodePayload(json), {
            onLeft: (error) => Effect.succeed(invalid(error)),
            onRight: (payload) => respond({ path, payload })
          })
      })
    }
  }
}

interface Pattern<R> {
  readonly segments: ReadonlyArray<string>
  readonly routes: ReadonlyArray<Route<R>>
}

const matchSegments = (pattern: ReadonlyArray<string>, parts: ReadonlyArray<string>): Record<string, string> | undefined => {
  if (pattern.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!
    const actual = parts[i]!
    if (expected.startsWith(":")) {
      // An empty segment (`/users/1/tasks/`) names no resource: it is not an id.
      if (actual === "") return undefined
      params[expected.slice(1)] = actual
    } else if (expected !== actual) {
      return undefined
    }
  }
  return params
}

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Compiles every endpoint of `api`; `handlers` must implement each one (the type says so). */
export const make = <A extends HttpApi.HttpApi.Any, R>(api: A, handlers: ApiHandlers<A, R>): Router<R> => {
  const described = api as unknown as HttpApi.HttpApi.AnyWithProps
  // The handler record is checked against the API by `ApiHandlers`; past this point the
  // endpoints are walked generically, each handler paired with its own endpoint's codecs.
  const implementations = handlers as unknown as Record<string, Record<string, AnyHandler<R>>>
  const patterns: Array<{ segments: ReadonlyArray<string>; routes: Array<Route<R>> }> = []
  for (const group of Object.values(described.groups)) {
    for (const endpoint of Object.values(group.endpoints)) {
      const handler = implementations[group.identifier]?.[endpoint.name]
      if (handler === undefined) throw new Error(`No handler for ${group.identifier}.${endpoint.name}`)
      const route = compileEndpoint(described, group, endpoint, handler)
      const segments = endpoint.path.split("/").slice(1)
      const existing = patterns.find((p) => p.segments.join("/") === segments.join("/"))
      if (existing) existing.routes.push(route)
      else patterns.push({ segments, routes: [route] })
    }
  }
  const compiled: ReadonlyArray<Pattern<R>> = patterns

  return {
    match: (method, pathname) => {
      const parts = pathname.split("/").slice(1).map(decodeSegment)
      for (const pattern of compiled) {
        const params = matchSegments(pattern.segments, parts)
        if (params === undefined) continue
        const route = pattern.routes.find((candidate) => candidate.method === method)
        return route === undefined
          ? { _tag: "MethodNotAllowed", allow: pattern.routes.map((candidate) => candidate.method) }
          : { _tag: "Found", route, params }
      }
      return { _tag: "NotFound" }
    }
  }
}
