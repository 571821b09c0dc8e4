import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import { Data, Effect, type SchemaAST } from "effect"
import type { BodyLimits } from "./Body.ts"
import { annotationMaps, declaredHeaders, unionMembers } from "./Describe.ts"
import { compile, type CompiledEndpoint, type Edge } from "./Endpoint.ts"
import {
  type GroupImplementation,
  type GroupNames,
  type Middlewares,
  type RequirementsOf,
  Unavailable
} from "./Handlers.ts"
import * as Paths from "./Paths.ts"

/** A description this server cannot serve in full: it refuses to start rather than ignore a part. */
export class Unservable extends Data.TaggedError("Unservable")<{ readonly message: string }> {}

export type Match =
  | { readonly _tag: "Found"; readonly endpoint: CompiledEndpoint; readonly params: Readonly<Record<string, string>> }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: ReadonlyArray<string> }
  | { readonly _tag: "NotFound" }

export interface Router<R> {
  readonly match: (method: string, pathname: string) => Match
  readonly edge: Edge
  /** The request headers the API reads: what a CORS preflight may allow. */
  readonly requestHeaders: ReadonlyArray<string>
  /** The response headers the API declares, for `Access-Control-Expose-Headers`. */
  readonly responseHeaders: ReadonlyArray<string>
  /** Phantom: what running the endpoints needs. */
  readonly requirements?: (_: never) => R
}

interface Route {
  readonly pattern: Paths.Pattern
  readonly endpoint: CompiledEndpoint
}

type ApiMiddlewares<A extends HttpApi.HttpApi.Any> = A extends HttpApi.HttpApi<infer _Id, infer Groups, infer _E, infer _R>
  ? Middlewares<Groups>
  : never

export type Implementations<A extends HttpApi.HttpApi.Any> = {
  readonly [Name in GroupNames<A>]: GroupImplementation<Name, any>
}

/** Response headers a browser may read without being told (CORS-safelisted). */
const safelisted = new Set(["cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"])

/**
 * Compiles every endpoint of `api` with its group's implementation, once. Fails with
 * `Unservable`, naming the endpoint and the feature, when a part of the description cannot be
 * served; the middleware implementations the description names must be in the context.
 */
export const make = <A extends HttpApi.HttpApi.Any, const I extends Implementations<A>>(
  api: A,
  implementations: I,
  options: { readonly edge: Edge; readonly limits: BodyLimits }
): Effect.Effect<Router<RequirementsOf<I[keyof I]>>, Unservable, ApiMiddlewares<A>> =>
  Effect.gen(function*() {
    const described = api as unknown as HttpApi.HttpApi.AnyWithProps
    const context = yield* Effect.context<never>()
    if (described.middlewares.size > 0) {
      return yield* new Unservable({
        message: "Cannot serve the API: middleware declared on the whole API runs before routing in HttpApiBuilder; " +
          "declare it on the groups instead"
      })
    }
    const byName = implementations as unknown as Readonly<Record<string, GroupImplementation<string, unknown>>>
    const routes = new Map<string, Array<Route>>()
    const requestHeaders = new Set(["content-type", "x-request-id"])
    const responseHeaders = new Set(["x-request-id"])
    for (const group of Object.values(described.groups)) {
      const implementation = byName[group.identifier]
      for (const endpoint of Object.values(group.endpoints)) {
        const where = `${group.identifier}.${endpoint.name} (${endpoint.method} ${endpoint.path})`
        const handler = implementation?.handlers[endpoint.name]
        if (handler === undefined) return yield* new Unservable({ message: `Cannot serve ${where}: no handler` })
        // CORS lists what the description reads and writes, the same in every deployment.
        for (const name of readHeaders(group, endpoint)) requestHeaders.add(name)
        for (const name of writtenHeaders(described, group, endpoint)) responseHeaders.add(name)
        if (handler === Unavailable) continue
        const pattern = Paths.parse(endpoint.path)
        if (typeof pattern === "string") return yield* new Unservable({ message: `Cannot serve ${where}: ${pattern}` })
        const compiled = compile({
          api: described,
          group,
          endpoint,
          handler,
          authorize: implementation!.authorize,
          context,
          edge: options.edge,
          limits: options.limits
        })
        if (typeof compiled === "string") return yield* new Unservable({ message: `Cannot serve ${where}: ${compiled}` })
        routes.set(endpoint.method, [...(routes.get(endpoint.method) ?? []), { pattern, endpoint: compiled }])
      }
    }
    for (const list of routes.values()) list.sort((a, b) => Paths.compare(a.pattern, b.pattern))

    const find = (method: string, parts: ReadonlyArray<string>) => {
      for (const route of routes.get(method) ?? []) {
        const params = Paths.match(route.pattern, parts)
        if (params !== undefined) return { endpoint: route.endpoint, params }
      }
      return undefined
    }

    const router: Router<RequirementsOf<I[keyof I]>> = {
      edge: options.edge,
      requestHeaders: [...requestHeaders].sort(),
      responseHeaders: [...responseHeaders].filter((name) => !safelisted.has(name)).sort(),
      match: (method, pathname) => {
        const parts = Paths.split(pathname)
        // HEAD is GET without the body, for every GET endpoint (RFC 9110 §9.3.2).
        const found = find(method, parts) ?? (method === "HEAD" ? find("GET", parts) : undefined)
        if (found !== undefined) return { _tag: "Found", ...found }
        const allow: Array<string> = []
        for (const other of routes.keys()) {
          if (find(other, parts) !== undefined) allow.push(other)
        }
        if (allow.includes("GET") && !allow.includes("HEAD")) allow.push("HEAD")
        return allow.length > 0 ? { _tag: "MethodNotAllowed", allow } : { _tag: "NotFound" }
      }
    }
    return router
  })

const schemaKeys = (ast: SchemaAST.AST): ReadonlyArray<string> => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.map((property) => String(property.name))
    case "Refinement":
      return schemaKeys(ast.from)
    case "Transformation":
      return schemaKeys(ast.from)
    case "Union":
      return ast.types.flatMap(schemaKeys)
    default:
      return []
  }
}

/** The request headers an endpoint reads: its headers schema and its security schemes. */
const readHeaders = (
  group: { readonly middlewares: ReadonlySet<HttpApiMiddleware.TagClassAny> },
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
): ReadonlyArray<string> => {
  const names: Array<string> = endpoint.headersSchema._tag === "Some" ? [...schemaKeys(endpoint.headersSchema.value.ast)] : []
  for (const tag of [...group.middlewares, ...endpoint.middlewares]) {
    if (!HttpApiMiddleware.isSecurity(tag)) continue
    for (const security of Object.values(tag.security)) {
      if (security._tag !== "ApiKey") names.push("authorization")
      else if (security.in === "header") names.push(security.key)
    }
  }
  return names.map((name) => name.toLowerCase())
}

/** Every response header an endpoint declares, for any of its answers. */
const writtenHeaders = (
  api: HttpApi.HttpApi.AnyWithProps,
  group: HttpApi.HttpApi.AnyWithProps["groups"][string],
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
): ReadonlyArray<string> => {
  const maps = annotationMaps(api, group, endpoint)
  const members = [endpoint.successSchema, endpoint.errorSchema, group.errorSchema, api.errorSchema]
    .flatMap((schema) => unionMembers(schema.ast))
  const names = new Set<string>()
  for (const map of maps) for (const headers of Object.values(map)) for (const name of Object.keys(headers)) names.add(name)
  for (const name of Object.keys(declaredHeaders([], 0, members))) names.add(name)
  return [...names].map((name) => name.toLowerCase())
}
