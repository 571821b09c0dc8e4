import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Context, Schema } from "effect"
import {
  EmailExistsWire,
  ExpiredTokenWire,
  InvalidCredentialsWire,
  InvalidTokenWire,
  MissingTokenWire,
  PayloadTooLargeWire,
  ServiceUnavailableWire,
  TooManyRequestsWire,
  UnsupportedMediaTypeWire,
  UserId,
  ValidationErrorWire
} from "../domain/index.ts"
import * as Describe from "../httpapi/Describe.ts"
import { SignInPayload, SignUpPayload } from "./Credentials.ts"

/**
 * Identity, as the API describes it (CONTRACT: "Version 2: identity"): who a request acts for,
 * the bearer-token middleware that says so, and the account endpoints. Description only: the
 * verification and the accounts live beside it, in the server's part of this folder.
 */

/** Who a request acts for: any user (no authentication configured) or the user its token names. */
export type Principal = { readonly _tag: "Anyone" } | { readonly _tag: "User"; readonly id: UserId }

export class CurrentUser extends Context.Tag("CurrentUser")<CurrentUser, Principal>() {}

/**
 * `Authorization: Bearer <token>`, verified by the server's implementation; its failures are
 * the 401 envelopes (with `WWW-Authenticate`) and a 503 when an identity provider's key set
 * cannot be fetched.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Schema.Union(MissingTokenWire, InvalidTokenWire, ExpiredTokenWire, ServiceUnavailableWire),
  provides: CurrentUser,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "A JWT: signed with the service's secret (see `/auth/signin`) or by an identity provider's key set. " +
          "Required when the service is configured with AUTH_JWT_SECRET or AUTH_JWKS_URL; without either, no token is needed."
      )
    )
  }
}) {}

/** The bodies: sign-up checks the fields; sign-in only that both are text (see Credentials.ts). */
export const SignUp = SignUpPayload
export const SignIn = SignInPayload

export const SignedUp = Schema.Struct({
  message: Schema.Literal("User created successfully"),
  user_id: UserId
}).annotations({ identifier: "SignedUp" })

export const AccessToken = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.Literal("bearer"),
  expires_in: Schema.Number.annotations({ description: "Seconds until the token expires" })
}).annotations({ identifier: "AccessToken" })

export const Me = Schema.Struct({
  user_id: UserId,
  email: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "Me" })

/** Accounts and sign-in (available when AUTH_JWT_SECRET is set), and who a token names. */
export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("signup", "/auth/signup")
      .setPayload(SignUp)
      .addSuccess(SignedUp, { status: 201 })
      .addError(EmailExistsWire)
      .addError(TooManyRequestsWire)
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .annotate(OpenApi.Summary, "Create an account")
  )
  .add(
    HttpApiEndpoint.post("signin", "/auth/signin")
      .setPayload(SignIn)
      .addSuccess(AccessToken)
      .addError(InvalidCredentialsWire)
      .addError(TooManyRequestsWire)
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .annotate(OpenApi.Summary, "Exchange email and password for a bearer token")
      .annotate(
        OpenApi.Description,
        "Unknown email and wrong password answer alike. After 10 failures for one email within 15 minutes: 429."
      )
  )
  .add(
    HttpApiEndpoint.get("me", "/auth/me")
      .addSuccess(Me)
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The user id (and email) a token acts for")
  )
  .addError(ValidationErrorWire)
  .annotate(Describe.ResponseHeaders, {
    "2XX": { "Cache-Control": { description: "Token and account answers are never stored", value: "no-store" } }
  })
  .annotate(OpenApi.Description, "Accounts and tokens. Without AUTH_JWT_SECRET these answer 404; `/auth/me` needs a configured verifier.")
{}
