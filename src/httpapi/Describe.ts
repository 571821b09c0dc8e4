import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import type * as OpenApi from "@effect/platform/OpenApi"
import type * as OpenApiJsonSchema from "@effect/platform/OpenApiJsonSchema"
import { Context, Option, SchemaAST } from "effect"

/**
 * Response headers, declared in the `HttpApi` description. HttpApi 3 cannot describe the
 * headers of an answer, so this module adds what the server and the document both read:
 *
 * - on the API, a group or an endpoint: `.annotate(ResponseHeaders, { 200: { ETag: … }, "4XX": { … } })`,
 *   keyed by status or by status class (`2XX`, `3XX`, `4XX`, `5XX`);
 * - on an error (or success) schema: `.annotations(headersOf({ "WWW-Authenticate": … }))`, for every
 *   answer that schema encodes.
 *
 * A header with a `value` is sent by the server itself; one without is set by the handler, which
 * may set no header that is not declared for the status it answers (the server treats that as a
 * bug). `documentHeaders` writes all of them into the OpenAPI document.
 *
 * This module is part of the description: it imports no server code.
 */
export interface HeaderSpec {
  readonly description: string
  /** A constant the server sends on every such answer. */
  readonly value?: string
  /** The JSON Schema of the value, for the document (`{ type: "string" }` by default). */
  readonly schema?: OpenApiJsonSchema.JsonSchema
}

/** Header name (as it should be spelled in the document) → its description. */
export type HeaderSet = Readonly<Record<string, HeaderSpec>>

/** Status (`"200"`) or status class (`"4XX"`) → the headers of such answers. */
export type HeaderMap = Readonly<Record<string, HeaderSet>>

export class ResponseHeaders extends Context.Tag("httpapi/ResponseHeaders")<ResponseHeaders, HeaderMap>() {}

export const SchemaHeadersId: unique symbol = Symbol.for("httpapi/SchemaHeaders")

/** Schema annotations declaring the headers of every answer the schema encodes. */
export const headersOf = (headers: HeaderSet): { readonly [SchemaHeadersId]: HeaderSet } => ({ [SchemaHeadersId]: headers })

export const schemaHeaders = (ast: SchemaAST.AST): HeaderSet =>
  Option.getOrElse(SchemaAST.getAnnotation<HeaderSet>(ast, SchemaHeadersId), () => ({}))

const statusClass = (status: number): string => `${Math.floor(status / 100)}XX`

/** The headers an annotation map declares for `status`: its class first, the exact status over it. */
export const forStatus = (map: HeaderMap | undefined, status: number): HeaderSet =>
  map === undefined ? {} : { ...map[statusClass(status)], ...map[String(status)] }

/** The annotation maps that apply to an endpoint, outermost first. */
export const annotationMaps = (
  api: HttpApi.HttpApi.AnyWithProps,
  group: HttpApiGroup.HttpApiGroup.AnyWithProps,
  endpoint: { readonly annotations: Context.Context<never> }
): ReadonlyArray<HeaderMap> =>
  [api.annotations, group.annotations, endpoint.annotations].flatMap((annotations) =>
    Option.toArray(Context.getOption(annotations, ResponseHeaders))
  )

/** Every header an answer with `status` (encoded by the schemas `members`) may carry. */
export const declaredHeaders = (
  maps: ReadonlyArray<HeaderMap>,
  status: number,
  members: ReadonlyArray<SchemaAST.AST>
): HeaderSet => {
  let headers: HeaderSet = {}
  for (const map of maps) headers = { ...headers, ...forStatus(map, status) }
  for (const member of members) headers = { ...headers, ...schemaHeaders(member) }
  return headers
}

/**
 * The members of a union, nested unions flattened, each with the union's annotations under its
 * own (a status given to a union applies to its members), as `HttpApiSchema.deunionize` does.
 */
export const unionMembers = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> =>
  SchemaAST.isUnion(ast)
    ? ast.types.flatMap((member) => unionMembers(SchemaAST.annotations(member, { ...ast.annotations, ...member.annotations })))
    : [ast]

const membersByStatus = (ast: SchemaAST.AST, statusOf: (ast: SchemaAST.AST) => number) => {
  const byStatus = new Map<number, Array<SchemaAST.AST>>()
  for (const member of unionMembers(ast)) {
    const status = statusOf(member)
    byStatus.set(status, [...(byStatus.get(status) ?? []), member])
  }
  return byStatus
}

/**
 * An `OpenApi.Transform` for the API that writes the declared response headers into each
 * operation's responses. Give it the API value it annotates (built before the annotation:
 * the groups are the same).
 */
export const documentHeaders = (api: HttpApi.HttpApi.Any) => (spec: OpenApi.OpenAPISpec): OpenApi.OpenAPISpec => {
  const paths: Record<string, OpenApi.OpenAPISpecPathItem> = {}
  for (const [path, item] of Object.entries(spec.paths)) paths[path] = { ...item }
  HttpApi.reflect(api as unknown as HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.AnyWithProps, never, never>, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint, group }) => {
      const path = endpoint.path.replace(/:(\w+)\??/g, "{$1}")
      const method = endpoint.method.toLowerCase() as OpenApi.OpenAPISpecMethodName
      const item = paths[path]
      const operation = item?.[method]
      if (item === undefined || operation === undefined) return
      const maps = annotationMaps(api as unknown as HttpApi.HttpApi.AnyWithProps, group, endpoint)
      const members = new Map<number, Array<SchemaAST.AST>>()
      const collect = (ast: SchemaAST.AST, statusOf: (ast: SchemaAST.AST) => number) => {
        for (const [status, asts] of membersByStatus(ast, statusOf)) members.set(status, [...(members.get(status) ?? []), ...asts])
      }
      collect(endpoint.successSchema.ast, HttpApiSchema.getStatusSuccessAST)
      for (const errors of [endpoint.errorSchema, group.errorSchema, (api as unknown as HttpApi.HttpApi.AnyWithProps).errorSchema]) {
        collect(errors.ast, HttpApiSchema.getStatusErrorAST)
      }
      const responses: OpenApi.OpenAPISpecResponses = {}
      for (const [status, response] of Object.entries(operation.responses)) {
        const headers = Object.entries(declaredHeaders(maps, Number(status), members.get(Number(status)) ?? []))
        // OpenApi 3.1 has response headers; the platform's types do not model them.
        const described: OpenApi.OpenApiSpecResponse & { readonly headers?: Record<string, unknown> } =
          headers.length === 0 ? response : {
            ...response,
            headers: Object.fromEntries(headers.map(([name, spec]) => [name, {
              description: spec.description,
              schema: spec.schema ?? (spec.value === undefined ? { type: "string" } : { type: "string", enum: [spec.value] })
            }]))
          }
        responses[Number(status)] = described
      }
      item[method] = { ...operation, responses } as OpenApi.OpenAPISpecOperation
    }
  })
  return { ...spec, paths }
}
