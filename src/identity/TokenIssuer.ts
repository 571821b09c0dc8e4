import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as Jose from "jose"
import type { UserId } from "../domain/Ids.ts"
import { AuthConfig } from "./AuthConfig.ts"

/** What `POST /auth/signin` answers (CONTRACT.md, accounts). */
export interface TokenResponse {
  readonly access_token: string
  readonly token_type: "bearer"
  /** Seconds until the token's `exp`. */
  readonly expires_in: number
}

export interface TokenIssuerShape {
  readonly issue: (userId: UserId, email: string) => Effect.Effect<TokenResponse>
}

/** Signs the service's own tokens; exists only when `AUTH_JWT_SECRET` is set. */
export class TokenIssuer extends Context.Tag("TokenIssuer")<TokenIssuer, TokenIssuerShape>() {}

export interface IssuerOptions {
  readonly secret: Redacted.Redacted<string>
  readonly issuer: Option.Option<string>
  readonly audience: Option.Option<string>
  readonly userClaim: string
  readonly ttl: Duration.Duration
}

export const makeTokenIssuer = (options: IssuerOptions): TokenIssuerShape => {
  const key = new TextEncoder().encode(Redacted.value(options.secret))
  const ttlSeconds = Math.round(Duration.toSeconds(options.ttl))
  return {
    issue: (userId, email) =>
      Effect.promise(() => {
        const now = Math.floor(Date.now() / 1000)
        // `sub` is a string (RFC 7519); a verifier reading another claim finds the id there too.
        const claims: Jose.JWTPayload = options.userClaim === "sub" ? { email } : { email, [options.userClaim]: userId }
        let jwt = new Jose.SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(String(userId))
          .setIssuedAt(now)
          .setExpirationTime(now + ttlSeconds)
        if (Option.isSome(options.issuer)) jwt = jwt.setIssuer(options.issuer.value)
        if (Option.isSome(options.audience)) jwt = jwt.setAudience(options.audience.value)
        return jwt.sign(key)
      }).pipe(
        Effect.map((token): TokenResponse => ({ access_token: token, token_type: "bearer", expires_in: ttlSeconds }))
      )
  }
}

/** Fails at construction without a secret: wire it only in the `secret` and `both` modes. */
export const TokenIssuerLive = Layer.effect(
  TokenIssuer,
  Effect.flatMap(AuthConfig, (config) =>
    Option.match(config.secret, {
      onNone: () => Effect.dieMessage("TokenIssuer needs AUTH_JWT_SECRET"),
      onSome: (secret) =>
        Effect.succeed(makeTokenIssuer({
          secret,
          issuer: config.issuer,
          audience: config.audience,
          userClaim: config.userClaim,
          ttl: config.tokenTtl
        }))
    }))
)
