import { Context, Data, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import * as Jose from "jose"
import { MAX_ID, MIN_ID, UserId } from "../domain/Ids.ts"
import { AuthConfig } from "./AuthConfig.ts"
import { defaultKeySetOptions, type KeySet, KeySetFetchFailed, makeKeySet } from "./KeySet.ts"
import { makeTokenCache } from "./TokenCache.ts"

/**
 * Bearer token verification (CONTRACT.md, "Version 2: identity"). The four failures are
 * plain tagged errors; the API description maps them to its 401/503 envelopes. Their
 * messages say what is wrong and never contain the token.
 */

export class MissingToken extends Data.TaggedError("MissingToken")<{ readonly message: string }> {}
export class InvalidToken extends Data.TaggedError("InvalidToken")<{ readonly message: string }> {}
export class ExpiredToken extends Data.TaggedError("ExpiredToken")<{ readonly message: string }> {}
export class KeySetUnavailable extends Data.TaggedError("KeySetUnavailable")<{ readonly message: string }> {}

export type TokenError = MissingToken | InvalidToken | ExpiredToken | KeySetUnavailable

/** Who a token names: one of the service's user ids, or an identity provider's own subject. */
export type TokenSubject =
  | { readonly _tag: "UserId"; readonly id: UserId }
  | { readonly _tag: "External"; readonly issuer: string; readonly subject: string }

export interface VerifiedToken {
  readonly subject: TokenSubject
  readonly email: Option.Option<string>
  /** The token's `exp`, in seconds since the epoch. */
  readonly expiresAt: number
}

export interface TokenVerifierShape {
  readonly verify: (token: string) => Effect.Effect<VerifiedToken, TokenError>
}

export class TokenVerifier extends Context.Tag("TokenVerifier")<TokenVerifier, TokenVerifierShape>() {}

/** Only with `AUTH_JWT_SECRET`. */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const
/** Only with `AUTH_JWKS_URL`: an HS* token can never be checked against a public key. */
export const KEY_SET_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const
/** For `exp` and `nbf` alike; the contract allows at most 60 s. */
export const LEEWAY_SECONDS = 30
/** A verification that needs the key set answers within this, whatever the network does. */
export const VERIFY_TIMEOUT = Duration.seconds(5)
/** Longer tokens are refused before any parsing: node refuses headers over 16 KiB anyway. */
export const MAX_TOKEN_LENGTH = 8192
/** An identity provider's issuer and subject are stored; longer ones are not a real provider's. */
export const MAX_EXTERNAL_LENGTH = 255
export const CACHE_CAPACITY = 10_000

/**
 * The token of an `Authorization` header: the scheme is case-insensitive (RFC 7235), and a
 * missing header, another scheme or `Bearer` without a token are all `MissingToken`.
 */
export const bearerToken = (header: string | undefined): Either.Either<string, MissingToken> => {
  const match = header === undefined ? null : /^bearer(?:[ \t]+(.*))?$/is.exec(header.trim())
  const token = match?.[1]?.trim() ?? ""
  return token === ""
    ? Either.left(new MissingToken({ message: "A bearer token is required: send Authorization: Bearer <token>" }))
    : Either.right(token)
}

const isUserId = (n: number): boolean => Number.isInteger(n) && n >= MIN_ID && n <= MAX_ID

/** A JSON number or a decimal string in 1..2147483647 (leading zeros allowed, as in paths). */
export const userIdOfClaim = (value: unknown): Option.Option<UserId> => {
  if (typeof value === "number") return isUserId(value) ? Option.some(UserId.make(value)) : Option.none()
  if (typeof value === "string" && /^[0-9]{1,12}$/.test(value)) {
    const n = Number(value)
    return isUserId(n) ? Option.some(UserId.make(n)) : Option.none()
  }
  return Option.none()
}

export interface VerifierOptions {
  readonly secret: Option.Option<Redacted.Redacted<string>>
  readonly keySet: Option.Option<KeySet>
  readonly issuer: Option.Option<string>
  readonly audience: Option.Option<string>
  readonly userClaim: string
  readonly mapSubjects: boolean
  readonly cacheCapacity?: number
}

const invalid = (message: string) => new InvalidToken({ message })

/** A jose failure as one of ours; the token itself never goes into a message. */
const classify = (error: unknown): TokenError => {
  if (error instanceof KeySetFetchFailed) {
    return new KeySetUnavailable({ message: "The key set needed to check this token cannot be fetched; try again later" })
  }
  if (error instanceof Jose.errors.JWTExpired) return new ExpiredToken({ message: "The token has expired" })
  if (error instanceof Jose.errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return invalid("The token is not valid yet (nbf)")
    if (error.claim === "exp") return invalid("The token has no expiry time (exp)")
    return invalid(`The token's "${error.claim}" claim is not the one this service accepts`)
  }
  if (error instanceof Jose.errors.JOSEAlgNotAllowed) return invalid("The token's signing algorithm is not accepted")
  if (error instanceof Jose.errors.JWSSignatureVerificationFailed) return invalid("The token's signature is not valid")
  if (error instanceof Jose.errors.JWKSNoMatchingKey) return invalid("The token's key is not in the key set")
  return invalid("The token is not a valid JWT")
}

/**
 * One imported key per HMAC algorithm: importing the raw secret on every verification cost
 * ~4x the verification itself (measured: ~740 against ~160 µs per cold HS256 token).
 */
const hmacKeys = async (secret: Redacted.Redacted<string>): Promise<ReadonlyMap<string, CryptoKey>> => {
  const raw = new TextEncoder().encode(Redacted.value(secret))
  const hashes = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" } as const
  return new Map(
    await Promise.all(
      HMAC_ALGORITHMS.map(async (alg) =>
        [alg, await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: hashes[alg] }, false, ["verify"])] as const
      )
    )
  )
}

export const makeTokenVerifier = (options: VerifierOptions): TokenVerifierShape => {
  const secretKeys = Option.map(options.secret, hmacKeys)
  const algorithms = [
    ...(Option.isSome(secretKeys) ? HMAC_ALGORITHMS : []),
    ...(Option.isSome(options.keySet) ? KEY_SET_ALGORITHMS : [])
  ]
  // `algorithms` has already refused any other algorithm when the key is asked for, so an
  // HS* header finds the secret only when one is configured, and anything else the key set.
  const getKey = async (header: Jose.JWSHeaderParameters, token: Jose.FlattenedJWSInput): Promise<CryptoKey> => {
    const hmac = Option.isSome(secretKeys) ? (await secretKeys.value).get(header.alg ?? "") : undefined
    if (hmac !== undefined) return hmac
    if (Option.isNone(options.keySet)) throw new Jose.errors.JOSEAlgNotAllowed("No key for this algorithm")
    return options.keySet.value.getKey(header, token)
  }
  const verifyOptions: Jose.JWTVerifyOptions = {
    algorithms,
    clockTolerance: LEEWAY_SECONDS,
    requiredClaims: ["exp"],
    ...(Option.isSome(options.issuer) ? { issuer: options.issuer.value } : {}),
    ...(Option.isSome(options.audience) ? { audience: options.audience.value } : {})
  }
  const cache = makeTokenCache<VerifiedToken>(options.cacheCapacity ?? CACHE_CAPACITY)

  const subjectOf = (payload: Jose.JWTPayload): Either.Either<TokenSubject, InvalidToken> => {
    const claim = payload[options.userClaim]
    const id = userIdOfClaim(claim)
    if (Option.isSome(id)) return Either.right({ _tag: "UserId", id: id.value })
    const issuer = payload.iss ?? ""
    if (
      options.mapSubjects && typeof claim === "string" && claim !== "" && claim.length <= MAX_EXTERNAL_LENGTH &&
      issuer.length <= MAX_EXTERNAL_LENGTH
    ) {
      return Either.right({ _tag: "External", issuer, subject: claim })
    }
    return Either.left(invalid(`The token's "${options.userClaim}" claim is not a user id`))
  }

  const check = (token: string) =>
    Effect.tryPromise({ try: () => Jose.jwtVerify(token, getKey, verifyOptions), catch: classify })
  const verifyUncached = (token: string): Effect.Effect<VerifiedToken, TokenError> =>
    // The key set's own fetch gives up sooner; this bounds everything else, at the cost of a
    // timer per cold verification, which only a key set can make slow.
    (Option.isSome(options.keySet)
      ? Effect.timeoutFail(check(token), {
        duration: VERIFY_TIMEOUT,
        onTimeout: () => new KeySetUnavailable({ message: "The key set did not answer in time; try again later" })
      })
      : check(token)).pipe(
      Effect.flatMap(({ payload }) =>
        Either.map(subjectOf(payload), (subject): VerifiedToken => ({
          subject,
          email: typeof payload.email === "string" ? Option.some(payload.email) : Option.none(),
          // requiredClaims made jose check that `exp` is a number.
          expiresAt: payload.exp ?? 0
        }))
      ),
      Effect.tap((verified) => cache.set(token, verified, verified.expiresAt * 1000))
    )

  return {
    verify: (token) =>
      Effect.suspend(() => {
        if (token.trim() === "") return Effect.fail(new MissingToken({ message: "A bearer token is required" }))
        if (algorithms.length === 0) return Effect.fail(invalid("No token verifier is configured"))
        if (token.length > MAX_TOKEN_LENGTH) return Effect.fail(invalid("The token is too long"))
        const cached = cache.get(token, Date.now())
        return cached !== undefined ? Effect.succeed(cached) : verifyUncached(token)
      })
  }
}

/** The verifier `AUTH_*` describes. In open mode it refuses every token (nothing verifies). */
export const TokenVerifierLive = Layer.effect(
  TokenVerifier,
  Effect.map(AuthConfig, (config) =>
    makeTokenVerifier({
      secret: config.secret,
      keySet: Option.map(config.jwksUrl, (url) => makeKeySet(defaultKeySetOptions(url))),
      issuer: config.issuer,
      audience: config.audience,
      userClaim: config.userClaim,
      mapSubjects: config.mapSubjects
    }))
)
