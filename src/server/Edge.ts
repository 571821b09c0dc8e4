import { Schema } from "effect"
import type { Edge, Reply } from "../httpapi/index.ts"
import {
  InternalError,
  InternalErrorWire,
  MethodNotAllowed,
  MethodNotAllowedWire,
  PayloadTooLarge,
  PayloadTooLargeWire,
  RouteNotFound,
  RouteNotFoundWire,
  UnsupportedMediaType,
  UnsupportedMediaTypeWire,
  Validation,
  ValidationError,
  ValidationErrorWire
} from "../domain/index.ts"

/** Error answers are never stored by a cache (CONTRACT: `no-store` on errors). */
export const errorHeaders = { "cache-control": "no-store" } as const

const reply = <A, I>(status: number, wire: Schema.Schema<A, I>, error: A): Reply => ({
  status,
  headers: errorHeaders,
  body: JSON.stringify(Schema.encodeSync(wire)(error))
})

const invalidReply = (violation: Validation.Violation): Reply =>
  reply(400, ValidationErrorWire, ValidationError.fromViolation(violation, Validation.describe))

/** Replies that never change, encoded once. */
export const notFound = reply(404, RouteNotFoundWire, new RouteNotFound())
export const methodNotAllowed = reply(405, MethodNotAllowedWire, new MethodNotAllowed())
export const payloadTooLarge = reply(413, PayloadTooLargeWire, new PayloadTooLarge())
export const unsupportedMediaType = reply(415, UnsupportedMediaTypeWire, new UnsupportedMediaType())
export const internalError = reply(500, InternalErrorWire, new InternalError())
export const invalidJson = invalidReply({ field: "body", constraint: "json" })
export const malformedRequest = invalidReply({ field: "body", constraint: "type", expected: "an HTTP/1.1 request" })

/**
 * The answers the server gives on its own, as this API's error envelope: a request part that
 * its schema refuses names the broken rule (read back from the schema's annotations).
 */
export const TaskApiEdge: Edge = {
  invalid: (_part, error) => invalidReply(Validation.violationOf(error.issue)),
  body: (failure) =>
    failure === "TooLarge" ? payloadTooLarge : failure === "UnsupportedMediaType" ? unsupportedMediaType : invalidJson,
  notFound,
  methodNotAllowed,
  internalError,
  malformedRequest
}
