import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import * as Jose from "jose"
import { UserId } from "../src/domain/Ids.ts"
import { defaultKeySetOptions, type KeySetOptions, makeKeySet } from "../src/identity/KeySet.ts"
import { bearerToken, makeTokenVerifier, type VerifierOptions } from "../src/identity/Tokens.ts"
import {
  jwksServer,
  secondsFromNow,
  signHmac,
  signingKey,
  signWith,
  unsecured
} from "./support/identityJwks.ts"

const SECRET = "a-test-secret-that-is-long-enough-for-hs256!"

const base: VerifierOptions = {
  secret: Option.none(),
  keySet: Option.none(),
  issuer: Option.none(),
  audience: Option.none(),
  userClaim: "sub",
  mapSubjects: false
}
const withSecret = (options: Partial<VerifierOptions> = {}) =>
  makeTokenVerifier({ ...base, secret: Option.some(Redacted.make(SECRET)), ...options })

/** The failure's tag and message, or the success; a token must never appear in a message. */
const outcome = (verify: Effect.Effect<unknown, { _tag: string; message: string }>, token: string) =>
  Effect.map(Effect.either(verify), (result) => {
    if (Either.isLeft(result)) {
      for (const part of token.split(".").filter((part) => part.length >= 4)) {
        expect(result.left.message).not.toContain(part)
      }
      return result.left._tag
    }
    return "ok"
  })

describe("bearerToken", () => {
  it("reads the token of any-case Bearer; anything else is MissingToken", () => {
    expect(bearerToken("Bearer abc")).toEqual(Either.right("abc"))
    expect(bearerToken("bearer  abc ")).toEqual(Either.right("abc"))
    expect(bearerToken("BEARER\tabc")).toEqual(Either.right("abc"))
    for (const header of [undefined, "", "Bearer", "Bearer   ", "Basic abc", "Bearerabc", "Token abc"]) {
      expect(Either.isLeft(bearerToken(header))).toBe(true)
    }
  })
})

describe("TokenVerifier with AUTH_JWT_SECRET", () => {
  it.live("accepts HS256/384/512; sub as a decimal string or a JSON number is the user id", () =>
    Effect.gen(function*() {
      const verifier = withSecret()
      for (const alg of ["HS256", "HS384", "HS512"] as const) {
        const token = yield* signHmac(SECRET, { sub: "42", email: "a@b.example" }, alg)
        const verified = yield* verifier.verify(token)
        expect(verified.subject).toEqual({ _tag: "UserId", id: UserId.make(42) })
        expect(verified.email).toEqual(Option.some("a@b.example"))
      }
      const numeric = yield* verifier.verify(yield* signHmac(SECRET, { sub: 2147483647 }))
      expect(numeric.subject).toEqual({ _tag: "UserId", id: UserId.make(2147483647) })
      expect(numeric.email).toEqual(Option.none())
    }))

  it.live("refuses what the contract names INVALID_TOKEN, EXPIRED_TOKEN, MISSING_TOKEN", () =>
    Effect.gen(function*() {
      const verifier = withSecret()
      const cases: ReadonlyArray<readonly [string, Effect.Effect<string>, string]> = [
        ["empty", Effect.succeed(""), "MissingToken"],
        ["garbage", Effect.succeed("not.a.jwt"), "InvalidToken"],
        ["alg none", Effect.succeed(unsecured({ sub: "1" })), "InvalidToken"],
        ["another secret", signHmac("another-secret-that-is-long-enough-too!!", { sub: "1" }), "InvalidToken"],
        ["expired beyond the leeway", signHmac(SECRET, { sub: "1", exp: secondsFromNow(-120) }), "ExpiredToken"],
        ["nbf beyond the leeway", signHmac(SECRET, { sub: "1", nbf: secondsFromNow(120) }), "InvalidToken"],
        ["no exp", Effect.promise(() => new Jose.SignJWT({ sub: "1" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET))), "InvalidToken"],
        ["sub 0", signHmac(SECRET, { sub: "0" }), "InvalidToken"],
        ["sub too large", signHmac(SECRET, { sub: "2147483648" }), "InvalidToken"],
        ["sub 1.5", signHmac(SECRET, { sub: 1.5 }), "InvalidToken"],
        ["sub not a number", signHmac(SECRET, { sub: "auth0|abc" }), "InvalidToken"],
        ["no sub", signHmac(SECRET, {}), "InvalidToken"],
        ["sub with a sign", signHmac(SECRET, { sub: "+5" }), "InvalidToken"]
      ]
      for (const [name, make, expected] of cases) {
        const token = yield* make
        expect([name, yield* outcome(verifier.verify(token), token)]).toEqual([name, expected])
      }
    }))

  it.live("allows a leeway of 30 s for exp and nbf", () =>
    Effect.gen(function*() {
      const verifier = withSecret()
      expect(yield* outcome(verifier.verify(yield* signHmac(SECRET, { sub: "1", exp: secondsFromNow(-10) })), "x"))
        .toBe("ok")
      expect(yield* outcome(verifier.verify(yield* signHmac(SECRET, { sub: "1", nbf: secondsFromNow(10) })), "x"))
        .toBe("ok")
    }))

  it.live("checks iss and aud when configured", () =>
    Effect.gen(function*() {
      const verifier = withSecret({ issuer: Option.some("https://issuer.example"), audience: Option.some("tasks") })
      const good = yield* signHmac(SECRET, { sub: "1", iss: "https://issuer.example", aud: "tasks" })
      expect(yield* outcome(verifier.verify(good), good)).toBe("ok")
      const list = yield* signHmac(SECRET, { sub: "1", iss: "https://issuer.example", aud: ["other", "tasks"] })
      expect(yield* outcome(verifier.verify(list), list)).toBe("ok")
      for (
        const claims of [
          { sub: "1", iss: "https://evil.example", aud: "tasks" },
          { sub: "1", aud: "tasks" },
          { sub: "1", iss: "https://issuer.example", aud: "other" },
          { sub: "1", iss: "https://issuer.example" }
        ]
      ) {
        const token = yield* signHmac(SECRET, claims)
        expect(yield* outcome(verifier.verify(token), token)).toBe("InvalidToken")
      }
    }))

  it.live("AUTH_USER_CLAIM names the claim; AUTH_MAP_SUBJECTS turns other subjects into External ones", () =>
    Effect.gen(function*() {
      const custom = withSecret({ userClaim: "uid" })
      expect((yield* custom.verify(yield* signHmac(SECRET, { sub: "auth0|x", uid: "7" }))).subject)
        .toEqual({ _tag: "UserId", id: UserId.make(7) })
      const noClaim = yield* signHmac(SECRET, { sub: "7" })
      expect(yield* outcome(custom.verify(noClaim), noClaim)).toBe("InvalidToken")

      const mapping = withSecret({ mapSubjects: true })
      expect((yield* mapping.verify(yield* signHmac(SECRET, { sub: "user_2abc", iss: "https://clerk.example" }))).subject)
        .toEqual({ _tag: "External", issuer: "https://clerk.example", subject: "user_2abc" })
      expect((yield* mapping.verify(yield* signHmac(SECRET, { sub: "auth0|1" }))).subject)
        .toEqual({ _tag: "External", issuer: "", subject: "auth0|1" })
      // A user id is still a user id; a subject that is not a string is still refused.
      expect((yield* mapping.verify(yield* signHmac(SECRET, { sub: "12" }))).subject)
        .toEqual({ _tag: "UserId", id: UserId.make(12) })
      for (const sub of [true, 0, "", "x".repeat(256)]) {
        const token = yield* signHmac(SECRET, { sub })
        expect(yield* outcome(mapping.verify(token), token)).toBe("InvalidToken")
      }
    }))

  it.live("an RS256 token is refused when only the secret is configured", () =>
    Effect.gen(function*() {
      const key = yield* signingKey("RS256", "k1")
      const token = yield* signWith(key, { sub: "1" })
      expect(yield* outcome(withSecret().verify(token), token)).toBe("InvalidToken")
    }))
})

const keySetOptions = (url: URL, overrides: Partial<KeySetOptions> = {}): KeySetOptions => ({
  ...defaultKeySetOptions(url),
  ...overrides
})

describe("TokenVerifier with AUTH_JWKS_URL", () => {
  it.scopedLive("accepts RS256, PS256, ES256 and EdDSA tokens signed by keys of the set", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const keys = yield* Effect.all([
        signingKey("RS256", "rsa"),
        signingKey("PS256", "pss"),
        signingKey("ES256", "ec"),
        signingKey("EdDSA", "ed")
      ])
      jwks.keys.push(...keys.map((key) => key.publicJwk))
      const verifier = makeTokenVerifier({ ...base, keySet: Option.some(makeKeySet(keySetOptions(jwks.url))) })
      for (const key of keys) {
        const verified = yield* verifier.verify(yield* signWith(key, { sub: "5" }))
        expect([key.alg, verified.subject]).toEqual([key.alg, { _tag: "UserId", id: UserId.make(5) }])
      }
      // Fetched once, for all four.
      expect(jwks.fetches).toBe(1)
      // Concurrent first verifications share one fetch.
      const fresh = makeTokenVerifier({ ...base, keySet: Option.some(makeKeySet(keySetOptions(jwks.url))) })
      const tokens = yield* Effect.forEach(keys, (key) => signWith(key, { sub: "6" }))
      const subjects = yield* Effect.all(tokens.map((token) => fresh.verify(token)), { concurrency: "unbounded" })
      expect(subjects).toHaveLength(4)
      expect(jwks.fetches).toBe(2)
    }))

  it.scopedLive("refuses algorithm confusion: HS256 signed with the RSA public key as its secret", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const key = yield* signingKey("RS256", "rsa")
      jwks.keys.push(key.publicJwk)
      const publicPem = yield* Effect.promise(() => Jose.exportSPKI(key.publicKey))
      const keySet = Option.some(makeKeySet(keySetOptions(jwks.url)))
      const forged = yield* signHmac(publicPem, { sub: "1" })
      const forgedWithKid = yield* Effect.promise(() =>
        new Jose.SignJWT({ sub: "1", exp: secondsFromNow(60) }).setProtectedHeader({ alg: "HS256", kid: "rsa" })
          .sign(new TextEncoder().encode(publicPem))
      )
      const keySetOnly = makeTokenVerifier({ ...base, keySet })
      const both = makeTokenVerifier({ ...base, keySet, secret: Option.some(Redacted.make(SECRET)) })
      for (const token of [forged, forgedWithKid]) {
        expect(yield* outcome(keySetOnly.verify(token), token)).toBe("InvalidToken")
        expect(yield* outcome(both.verify(token), token)).toBe("InvalidToken")
      }
      expect(yield* outcome(keySetOnly.verify(unsecured({ sub: "1" })), "x")).toBe("InvalidToken")
      // An HS256 token signed with the real secret is not for a key-set-only service either.
      const hs = yield* signHmac(SECRET, { sub: "1" })
      expect(yield* outcome(keySetOnly.verify(hs), hs)).toBe("InvalidToken")
      expect(yield* outcome(both.verify(hs), hs)).toBe("ok")
      expect(yield* outcome(both.verify(yield* signWith(key, { sub: "1" })), "x")).toBe("ok")
    }))

  it.scopedLive("a key added to the set is picked up for its new kid, at most one fetch per cooldown", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const first = yield* signingKey("RS256", "first")
      const second = yield* signingKey("EdDSA", "second")
      jwks.keys.push(first.publicJwk)
      const verifier = makeTokenVerifier({
        ...base,
        keySet: Option.some(makeKeySet(keySetOptions(jwks.url, { cooldownMillis: 1_000 })))
      })
      yield* verifier.verify(yield* signWith(first, { sub: "1" }))
      jwks.keys.push(second.publicJwk)
      const rotated = yield* signWith(second, { sub: "2" })
      // Within the cooldown the set is not fetched again: an unknown kid is an invalid token.
      expect(yield* outcome(verifier.verify(rotated), rotated)).toBe("InvalidToken")
      expect(yield* outcome(verifier.verify(yield* signWith(second, { sub: "3" })), "x")).toBe("InvalidToken")
      expect(jwks.fetches).toBe(1)
      yield* Effect.sleep("1100 millis")
      expect((yield* verifier.verify(rotated)).subject).toEqual({ _tag: "UserId", id: UserId.make(2) })
      expect(jwks.fetches).toBe(2)
    }))

  it.scopedLive("the production cooldown is a minute: the contract's bound on refetching and on picking up a key", () =>
    Effect.sync(() => {
      const options = defaultKeySetOptions(new URL("https://idp.example/jwks"))
      expect(options.cooldownMillis).toBe(60_000)
      expect(options.timeoutMillis).toBeLessThan(5_000)
    }))

  it.scopedLive("a key set that is down or hangs answers KeySetUnavailable within 5 s; held keys still work", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const held = yield* signingKey("ES256", "held")
      const missing = yield* signingKey("ES256", "missing")
      jwks.mode = "error"
      const verifier = makeTokenVerifier({ ...base, keySet: Option.some(makeKeySet(keySetOptions(jwks.url))) })
      const heldToken = yield* signWith(held, { sub: "1" })
      expect(yield* outcome(verifier.verify(heldToken), heldToken)).toBe("KeySetUnavailable")
      // Right after a failure the set is not asked again, and the answer is still "unavailable".
      expect(yield* outcome(verifier.verify(heldToken), heldToken)).toBe("KeySetUnavailable")
      expect(jwks.fetches).toBe(1)

      // Up again, after the failure cooldown: the key is fetched; then the set hangs.
      jwks.mode = "up"
      jwks.keys.push(held.publicJwk)
      const recovered = makeTokenVerifier({ ...base, keySet: Option.some(makeKeySet(keySetOptions(jwks.url))) })
      yield* recovered.verify(heldToken)
      jwks.mode = "hang"
      const started = Date.now()
      const missingToken = yield* signWith(missing, { sub: "1" })
      // Fresh verifier whose cooldown has passed: the fetch for the unknown kid hangs.
      const hangingSet = makeKeySet(keySetOptions(jwks.url, { cooldownMillis: 0 }))
      const hanging = makeTokenVerifier({ ...base, keySet: Option.some(hangingSet) })
      expect(yield* outcome(hanging.verify(missingToken), missingToken)).toBe("KeySetUnavailable")
      expect(Date.now() - started).toBeLessThan(5_000)
      // The verifier that holds the key does not need the set for it.
      expect(yield* outcome(recovered.verify(yield* signWith(held, { sub: "9" })), "x")).toBe("ok")
    }), { timeout: 15_000 })
})
