import { Schema } from "effect"
import * as Describe from "../httpapi/Describe.ts"
import { plainWire, withDefault } from "./Errors.ts"

/**
 * The answers of identity (CONTRACT: "Version 2: identity"). A 401 about the token carries
 * `WWW-Authenticate` (RFC 6750), declared on the error itself so every endpoint that can
 * answer it documents it. Messages never echo the token.
 */
export class MissingToken extends Schema.TaggedError<MissingToken>()("MissingToken", {
  message: withDefault("An Authorization: Bearer token is required")
}) {}

export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", {
  message: withDefault("The bearer token is not valid")
}) {}

export class ExpiredToken extends Schema.TaggedError<ExpiredToken>()("ExpiredToken", {
  message: withDefault("The bearer token has expired")
}) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: withDefault("This token does not act for this user")
}) {}

export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {
  message: withDefault("Invalid email or password")
}) {}

export class EmailExists extends Schema.TaggedError<EmailExists>()("EmailExists", {
  message: withDefault("An account with this email already exists")
}) {}

export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  message: withDefault("Too many requests; retry later")
}) {}

const challenge = (value: string): Describe.HeaderSet => ({
  "WWW-Authenticate": { description: "The Bearer scheme (RFC 6750)", value }
})

export const MissingTokenWire = plainWire(
  MissingToken,
  "MissingToken",
  "MISSING_TOKEN",
  401,
  "MissingTokenError",
  Describe.headersOf(challenge("Bearer"))
)
export const InvalidTokenWire = plainWire(
  InvalidToken,
  "InvalidToken",
  "INVALID_TOKEN",
  401,
  "InvalidTokenError",
  Describe.headersOf(challenge("Bearer error=\"invalid_token\""))
)
export const ExpiredTokenWire = plainWire(
  ExpiredToken,
  "ExpiredToken",
  "EXPIRED_TOKEN",
  401,
  "ExpiredTokenError",
  Describe.headersOf(challenge("Bearer error=\"invalid_token\""))
)
export const ForbiddenWire = plainWire(Forbidden, "Forbidden", "FORBIDDEN", 403, "ForbiddenError")
export const InvalidCredentialsWire = plainWire(
  InvalidCredentials,
  "InvalidCredentials",
  "INVALID_CREDENTIALS",
  401,
  "InvalidCredentialsError"
)
export const EmailExistsWire = plainWire(EmailExists, "EmailExists", "EMAIL_EXISTS", 409, "EmailExistsError")
export const TooManyRequestsWire = plainWire(
  TooManyRequests,
  "TooManyRequests",
  "TOO_MANY_REQUESTS",
  429,
  "TooManyRequestsError",
  Describe.headersOf({ "Retry-After": { description: "Seconds to wait before trying again" } })
)
