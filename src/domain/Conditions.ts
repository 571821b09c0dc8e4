import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { plainWire, withDefault } from "./Errors.ts"

/**
 * Answers of conditional requests and of retried creates (CONTRACT: "conditional requests",
 * "safe retries of creates"). 304 has no body; the others are the envelope.
 */
export class NotModified extends HttpApiSchema.EmptyError<NotModified>()({ tag: "NotModified", status: 304 }) {}

export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>()("PreconditionFailed", {
  message: withDefault("The task has changed since the version named in If-Match")
}) {}

export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  message: withDefault("This Idempotency-Key was used with a different request body")
}) {}

export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()("IdempotencyKeyInUse", {
  message: withDefault("A request with this Idempotency-Key is still in progress; retry later")
}) {}

export const PreconditionFailedWire = plainWire(
  PreconditionFailed,
  "PreconditionFailed",
  "PRECONDITION_FAILED",
  412,
  "PreconditionFailedError"
)
export const IdempotencyKeyReusedWire = plainWire(
  IdempotencyKeyReused,
  "IdempotencyKeyReused",
  "IDEMPOTENCY_KEY_REUSED",
  422,
  "IdempotencyKeyReusedError"
)
export const IdempotencyKeyInUseWire = plainWire(
  IdempotencyKeyInUse,
  "IdempotencyKeyInUse",
  "IDEMPOTENCY_KEY_IN_USE",
  409,
  "IdempotencyKeyInUseError"
)
