import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Either, Option, type ParseResult, Schema, SchemaAST } from "effect"
import { decoder, encoder } from "../schema/Compile.ts"
import { annotationMaps, declaredHeaders, type HeaderMap, unionMembers } from "./Describe.ts"
import type * as Respond from "./Respond.ts"

/**
 * How one member of an endpoint's success or error union goes on the wire: its status, its
 * encoder (none for an empty body), the headers the server adds itself and the headers a
 * handler may set (lower-case name → name as declared).
 */
export interface ResponseCodec {
  readonly is: (u: unknown) => boolean
  readonly status: number
  readonly encode: ((u: unknown) => Either.Either<unknown, ParseResult.ParseError>) | undefined
  /** For an array schema: how one element is encoded, for streamed answers. */
  readonly encodeItem: ((u: unknown) => Either.Either<unknown, ParseResult.ParseError>) | undefined
  readonly constantHeaders: Respond.Headers
  /** The headers a handler may set, by lower-cased and by declared name, to the declared name. */
  readonly settable: ReadonlyMap<string, string>
}

/**
 * The endpoint schemas of a description shared with clients need no services to run;
 * rebuilding a schema from its AST states that in the type.
 */
export const contextFree = (ast: SchemaAST.AST): Schema.Schema<unknown, unknown> => Schema.make(ast)

/** `HttpApi` adds its own decode error to every API; this server answers decode failures itself. */
const isBuiltinDecodeError = (ast: SchemaAST.AST) =>
  Option.exists(SchemaAST.getIdentifierAnnotation(ast), (id) => id === "HttpApiDecodeError")

const arrayItem = (ast: SchemaAST.AST): SchemaAST.AST | undefined => {
  switch (ast._tag) {
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 ? ast.rest[0]!.type : undefined
    // Refinements of an array check the whole array, which a stream never holds: not streamed.
    default:
      return undefined
  }
}

/** Why a response member cannot be served, if it cannot. */
const unsupported = (ast: SchemaAST.AST): string | undefined => {
  if (HttpApiSchema.isVoid(ast)) return undefined
  const encoding = HttpApiSchema.getEncoding(ast)
  return encoding.kind === "Json" ? undefined : `a ${encoding.kind} response body (only JSON is served)`
}

const codec = (ast: SchemaAST.AST, status: number, maps: ReadonlyArray<HeaderMap>): ResponseCodec => {
  const member = contextFree(ast)
  const headers = declaredHeaders(maps, status, [ast])
  const constantHeaders: Record<string, string> = {}
  const settable = new Map<string, string>()
  for (const [name, spec] of Object.entries(headers)) {
    if (spec.value !== undefined) constantHeaders[name] = spec.value
    else {
      // Under its declared spelling too, which is how handlers write it: no lower-casing then.
      settable.set(name.toLowerCase(), name)
      settable.set(name, name)
    }
  }
  const item = arrayItem(ast)
  return {
    is: Schema.is(Schema.typeSchema(member)),
    status,
    encode: HttpApiSchema.isVoid(ast) ? undefined : encoder(member),
    encodeItem: item === undefined ? undefined : encoder(contextFree(item)),
    constantHeaders,
    settable
  }
}

export interface EndpointCodecs {
  readonly successes: ReadonlyArray<ResponseCodec>
  readonly errors: ReadonlyArray<ResponseCodec>
}

/** Codecs for every answer an endpoint declares, or why one of them cannot be served. */
export const endpointCodecs = (
  api: HttpApi.HttpApi.AnyWithProps,
  group: HttpApiGroup.HttpApiGroup.AnyWithProps,
  endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
): EndpointCodecs | string => {
  const maps = annotationMaps(api, group, endpoint)
  const successes: Array<ResponseCodec> = []
  for (const ast of unionMembers(endpoint.successSchema.ast)) {
    const reason = unsupported(ast)
    if (reason !== undefined) return reason
    successes.push(codec(ast, HttpApiSchema.getStatusSuccessAST(ast), maps))
  }
  const errors: Array<ResponseCodec> = []
  for (const schema of [endpoint.errorSchema, group.errorSchema, api.errorSchema]) {
    for (const ast of unionMembers(schema.ast)) {
      if (isBuiltinDecodeError(ast) || SchemaAST.isNeverKeyword(ast)) continue
      const reason = unsupported(ast)
      if (reason !== undefined) return reason
      errors.push(codec(ast, HttpApiSchema.getStatusErrorAST(ast), maps))
    }
  }
  return { successes, errors }
}

/** `Schema.decodeUnknownEither` of a request part, compiled (see src/schema/Compile.ts). */
export const requestDecoder = (schema: Option.Option<Schema.Schema.All>) =>
  Option.match(schema, { onNone: () => undefined, onSome: (s) => decoder(contextFree(s.ast)) })

const isSingleString = (ast: SchemaAST.AST, key: string): boolean => {
  switch (ast._tag) {
    case "StringKeyword":
    case "Literal":
    case "TemplateLiteral":
    case "Enums":
      return true
    case "TypeLiteral": {
      const property = ast.propertySignatures.find((signature) => signature.name === key)
      return property !== undefined && isSingleString(property.type, key)
    }
    case "Union":
      return ast.types.some((type) => isSingleString(type, key))
    case "Suspend":
      return isSingleString(ast.f(), key)
    case "Refinement":
    case "Transformation":
      return isSingleString(ast.from, key)
    default:
      return false
  }
}

/**
 * The query string as `HttpApiBuilder` hands it to a url-params schema: a repeated key is an
 * array, and a key whose schema expects an array is one even when it appears once.
 */
export const queryRecord = (query: string, ast: SchemaAST.AST): Record<string, string | Array<string>> => {
  const record: Record<string, string | Array<string>> = {}
  for (const [key, value] of new URLSearchParams(query)) {
    const previous = record[key]
    record[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]
  }
  for (const key of Object.keys(record)) {
    const value = record[key]!
    if (!Array.isArray(value) && !isSingleString(ast, key)) record[key] = [value]
  }
  return record
}
