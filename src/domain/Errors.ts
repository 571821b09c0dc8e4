import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { FIELDS, type Violation } from "./Validation.ts"

/**
 * Every error leaves the service as one envelope:
 * `{ "error": { "code": "...", "message": "...", "details"?: { ... } } }`.
 * Each tagged error below travels as that envelope: its wire schema is a transformation
 * from the envelope to the class, carrying the HTTP status. The server encodes with it,
 * the derived client decodes with it, and the OpenAPI document shows what is really sent.
 */
const Envelope = <Code extends string, D extends Schema.Schema.Any>(
  code: Code,
  details: D
) =>
  Schema.Struct({
    error: Schema.Struct({
      code: Schema.Literal(code),
      message: Schema.String,
      details
    })
  })

const PlainEnvelope = <Code extends string>(code: Code) =>
  Schema.Struct({ error: Schema.Struct({ code: Schema.Literal(code), message: Schema.String }) })

export const withDefault = (message: string) =>
  Schema.String.pipe(Schema.propertySignature, Schema.withConstructorDefault(() => message))

/** Builds the wire schema of an error that has a code and a message only. */
export const plainWire = <Self extends { readonly message: string }, I extends { readonly _tag: string; readonly message: string }>(
  error: Schema.Schema<Self, I>,
  tag: I["_tag"],
  code: string,
  status: number,
  identifier: string,
  annotations: Schema.Annotations.Schema<Self> = {}
) =>
  Schema.transform(PlainEnvelope(code), error, {
    strict: false,
    decode: (envelope) => ({ _tag: tag, message: envelope.error.message }),
    encode: (value) => ({ error: { code, message: value.message } })
  }).annotations({ ...annotations, identifier, ...HttpApiSchema.annotations({ status }) })

export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  message: withDefault("Task not found")
}) {}

export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  message: withDefault("Route not found")
}) {}

export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: withDefault("Method not allowed")
}) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: withDefault("Request body is larger than 1 MiB")
}) {}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: withDefault("Request body must be JSON (Content-Type: application/json)")
}) {}

export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: withDefault("Internal server error")
}) {}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  message: withDefault("Database is not available")
}) {}

export const ValidationDetails = Schema.Struct({
  field: Schema.Literal(...FIELDS),
  constraint: Schema.Literal("required", "non_empty", "max_length", "min_length", "type", "json", "range"),
  expected: Schema.optionalWith(Schema.String, { exact: true }),
  min: Schema.optionalWith(Schema.Number, { exact: true }),
  max: Schema.optionalWith(Schema.Number, { exact: true })
}).annotations({ identifier: "ValidationDetails" })

export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  message: Schema.String,
  details: ValidationDetails
}) {
  static fromViolation(violation: Violation, describe: (violation: Violation) => string): ValidationError {
    const { field, ...rest } = violation
    return new ValidationError({ message: describe(violation), details: { field, ...rest } })
  }
}

export const ValidationErrorWire = Schema.transform(
  Envelope("VALIDATION_ERROR", ValidationDetails),
  ValidationError,
  {
    strict: false,
    decode: ({ error }) => ({ _tag: "ValidationError" as const, message: error.message, details: error.details }),
    encode: (value) => ({ error: { code: "VALIDATION_ERROR" as const, message: value.message, details: value.details } })
  }
).annotations({ identifier: "ValidationError", ...HttpApiSchema.annotations({ status: 400 }) })

export const TaskNotFoundWire = plainWire(TaskNotFound, "TaskNotFound", "NOT_FOUND", 404, "NotFoundError")
export const RouteNotFoundWire = plainWire(RouteNotFound, "RouteNotFound", "NOT_FOUND", 404, "RouteNotFoundError")
export const MethodNotAllowedWire = plainWire(
  MethodNotAllowed,
  "MethodNotAllowed",
  "METHOD_NOT_ALLOWED",
  405,
  "MethodNotAllowedError"
)
export const PayloadTooLargeWire = plainWire(
  PayloadTooLarge,
  "PayloadTooLarge",
  "PAYLOAD_TOO_LARGE",
  413,
  "PayloadTooLargeError"
)
export const UnsupportedMediaTypeWire = plainWire(
  UnsupportedMediaType,
  "UnsupportedMediaType",
  "UNSUPPORTED_MEDIA_TYPE",
  415,
  "UnsupportedMediaTypeError"
)
export const InternalErrorWire = plainWire(InternalError, "InternalError", "INTERNAL_ERROR", 500, "InternalError")
export const ServiceUnavailableWire = plainWire(
  ServiceUnavailable,
  "ServiceUnavailable",
  "SERVICE_UNAVAILABLE",
  503,
  "ServiceUnavailableError"
)
