import { type ConfigError, Effect, Layer, Redacted } from "effect"
import type { Api } from "../api/Api.ts"
import {
  EmailExists,
  ExpiredToken,
  InvalidCredentials,
  InvalidToken,
  MissingToken,
  ServiceUnavailable,
  TooManyRequests
} from "../domain/index.ts"
import { Handlers, Respond } from "../httpapi/index.ts"
import type { AccountRepository } from "./AccountRepository.ts"
import { Accounts, AccountsLive } from "./Accounts.ts"
import { Authentication, CurrentUser } from "./Api.ts"
import type { AuthMode } from "./AuthConfig.ts"
import { Authenticator, AuthenticatorLive } from "./Authenticator.ts"
import { PasswordsLive } from "./Passwords.ts"
import { TokenIssuerLive } from "./TokenIssuer.ts"
import { TokenVerifierLive } from "./Tokens.ts"

const anyone = Effect.succeed({ _tag: "Anyone" } as const)

const keySetDown = new ServiceUnavailable({ message: "The identity provider's key set cannot be fetched; retry later" })

/**
 * The `Authentication` middleware. Open mode (no secret, no key set): every request acts for
 * anyone, as in version 1. Otherwise the bearer token must verify; its failures are the 401
 * envelopes, and a key set that cannot be fetched is a 503. A token is never logged nor echoed.
 */
export const AuthenticationOpen = Layer.succeed(Authentication, { bearer: () => anyone })

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(Authenticator, (authenticator) => ({
    bearer: (credential: Redacted.Redacted<string>) => {
      const token = Redacted.value(credential)
      if (token === "") return Effect.fail(new MissingToken())
      return authenticator.authenticate(token).pipe(
        Effect.map((id) => ({ _tag: "User" as const, id })),
        Effect.catchTags({
          MissingToken: () => Effect.fail(new MissingToken()),
          InvalidToken: (error) => Effect.fail(new InvalidToken({ message: error.message })),
          ExpiredToken: () => Effect.fail(new ExpiredToken()),
          KeySetUnavailable: () => Effect.fail(keySetDown)
        })
      )
    }
  }))
)

const retryAfter = (seconds: number) =>
  Respond.withHeaders(new TooManyRequests(), { "Retry-After": String(Math.max(1, Math.ceil(seconds))) })

/** Sign-up and sign-in, served only with AUTH_JWT_SECRET; `/auth/me` with any verifier. */
const accountsHandlers = {
  signup: ({ payload }: { readonly payload: { readonly email: string; readonly password: string } }) =>
    Effect.flatMap(Accounts, (accounts) => accounts.signUp(payload)).pipe(
      Effect.map(({ userId }) => ({ message: "User created successfully" as const, user_id: userId })),
      Effect.catchTags({
        EmailTaken: () => Effect.fail(new EmailExists()),
        Busy: (busy) => Effect.fail(retryAfter(busy.retryAfterSeconds))
      })
    ),
  signin: ({ payload }: { readonly payload: { readonly email: string; readonly password: string } }) =>
    Effect.flatMap(Accounts, (accounts) => accounts.signIn(payload)).pipe(
      Effect.catchTags({
        InvalidCredentials: () => Effect.fail(new InvalidCredentials()),
        Throttled: (throttled) => Effect.fail(retryAfter(throttled.retryAfterSeconds)),
        Busy: (busy) => Effect.fail(retryAfter(busy.retryAfterSeconds))
      })
    )
}

const me = () =>
  Effect.flatMap(CurrentUser, (principal) =>
    principal._tag === "User"
      ? Effect.flatMap(Authenticator, (authenticator) => authenticator.me(principal.id))
      : Effect.die(new Error("/auth/me is served only with a token verifier")))

export const authGroup = (mode: AuthMode) =>
  mode === "open"
    ? Handlers.group({} as typeof Api, "auth", {
      signup: Handlers.Unavailable,
      signin: Handlers.Unavailable,
      me: Handlers.Unavailable
    })
    : mode === "keySet"
    ? Handlers.group({} as typeof Api, "auth", { signup: Handlers.Unavailable, signin: Handlers.Unavailable, me })
    : Handlers.group({} as typeof Api, "auth", { ...accountsHandlers, me })


/**
 * A mode without accounts (or without a verifier) still builds the server's whole context; the
 * endpoints that would use these are `Unavailable` in that mode, so nothing ever calls them.
 */
const notServed = (what: string) => Effect.dieMessage(`${what} is not served in this authentication mode`)
const NoAccounts = Layer.succeed(Accounts, { signUp: () => notServed("Sign-up"), signIn: () => notServed("Sign-in") })
const NoAuthenticator = Layer.succeed(Authenticator, {
  authenticate: () => notServed("Token verification"),
  me: () => notServed("/auth/me")
})

/**
 * Everything identity needs, by mode: nothing in open mode (with a start-up warning, since any
 * caller can then act for any user); a verifier and the account storage with a secret or a key
 * set; hashing and the token issuer too with a secret.
 */
export const identityLayer = <E, R>(
  mode: AuthMode,
  accounts: Layer.Layer<AccountRepository, E, R>
): Layer.Layer<Authentication | Authenticator | Accounts, E | ConfigError.ConfigError, R> => {
  if (mode === "open") {
    return Layer.mergeAll(
      AuthenticationOpen,
      NoAccounts,
      NoAuthenticator,
      Layer.effectDiscard(Effect.logWarning(
        "Authentication is off (neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set): any caller can act for any user"
      ))
    )
  }
  const authentication = Layer.provideMerge(AuthenticationLive, AuthenticatorLive.pipe(Layer.provide(TokenVerifierLive)))
  const signing = mode === "keySet" ? NoAccounts : AccountsLive.pipe(Layer.provide([PasswordsLive, TokenIssuerLive]))
  return Layer.merge(authentication, signing).pipe(Layer.provide(accounts))
}
