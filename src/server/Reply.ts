import { Schema } from "effect"
import {
  InternalError,
  InternalErrorWire,
  MethodNotAllowed,
  MethodNotAllowedWire,
  PayloadTooLarge,
  PayloadTooLargeWire,
  RouteNotFound,
  RouteNotFoundWire,
  Validation,
  ValidationError,
  ValidationErrorWire
} from "../domain/index.ts"

/** A finished answer: status and JSON text. Headers are the adapter's business. */
export interface Reply {
  readonly status: number
  readonly body: string
}

type EdgeError = ValidationError | RouteNotFound | MethodNotAllowed | PayloadTooLarge | InternalError

const encoders = {
  ValidationError: Schema.encodeSync(ValidationErrorWire),
  RouteNotFound: Schema.encodeSync(RouteNotFoundWire),
  MethodNotAllowed: Schema.encodeSync(MethodNotAllowedWire),
  PayloadTooLarge: Schema.encodeSync(PayloadTooLargeWire),
  InternalError: Schema.encodeSync(InternalErrorWire)
}

/** Errors raised at the edge, before or around any endpoint, encoded by their wire schemas. */
export const replyError = (status: number, error: EdgeError): Reply => {
  switch (error._tag) {
    case "ValidationError":
      return { status, body: JSON.stringify(encoders.ValidationError(error)) }
    case "RouteNotFound":
      return { status, body: JSON.stringify(encoders.RouteNotFound(error)) }
    case "MethodNotAllowed":
      return { status, body: JSON.stringify(encoders.MethodNotAllowed(error)) }
    case "PayloadTooLarge":
      return { status, body: JSON.stringify(encoders.PayloadTooLarge(error)) }
    case "InternalError":
      return { status, body: JSON.stringify(encoders.InternalError(error)) }
  }
}

/** Replies that never change, encoded once. */
export const notFound: Reply = replyError(404, new RouteNotFound())
export const methodNotAllowed: Reply = replyError(405, new MethodNotAllowed())
export const payloadTooLarge: Reply = replyError(413, new PayloadTooLarge())
export const internalError: Reply = replyError(500, new InternalError())
export const invalidJson: Reply = replyError(
  400,
  ValidationError.fromViolation({ field: "body", constraint: "json" }, Validation.describe)
)
export const malformedRequest: Reply = replyError(
  400,
  ValidationError.fromViolation({ field: "body", constraint: "type", expected: "an HTTP/1.1 request" }, Validation.describe)
)
