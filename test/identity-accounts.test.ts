import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import * as Jose from "jose"
import { UserId } from "../src/domain/Ids.ts"
import { violationOf } from "../src/domain/Validation.ts"
import { AccountRepository, MAX_FAILURES } from "../src/identity/AccountRepository.ts"
import { makeAccountRepositoryMemory } from "../src/identity/AccountRepositoryMemory.ts"
import { Accounts, AccountsLive } from "../src/identity/Accounts.ts"
import { Authenticator, AuthenticatorLive } from "../src/identity/Authenticator.ts"
import { SignInPayload, SignUpPayload } from "../src/identity/Credentials.ts"
import { makePasswords, Passwords } from "../src/identity/Passwords.ts"
import { makeTokenIssuer, TokenIssuer } from "../src/identity/TokenIssuer.ts"
import { makeTokenVerifier, TokenVerifier } from "../src/identity/Tokens.ts"
import { signHmac } from "./support/identityJwks.ts"

const SECRET = "a-test-secret-that-is-long-enough-for-hs256!"

describe("SignUpPayload", () => {
  const decode = Schema.decodeUnknownEither(SignUpPayload)
  const violation = (input: unknown) =>
    Either.match(decode(input), { onLeft: (error) => violationOf(error.issue), onRight: () => undefined })

  it("trims and lower-cases the email, keeps the password as sent", () => {
    expect(decode({ email: "  Ann.Lee+tasks@Example.COM \n", password: " pass word " })).toEqual(
      Either.right({ email: "ann.lee+tasks@example.com", password: " pass word " })
    )
  })

  it("names the field and the rule that is broken", () => {
    const ok = "longenough"
    expect(violation({ password: ok })).toEqual({ field: "email", constraint: "required" })
    expect(violation({ email: 5, password: ok })).toMatchObject({ field: "email", constraint: "type" })
    expect(violation({ email: "   ", password: ok })).toEqual({ field: "email", constraint: "non_empty" })
    for (const email of ["ann", "ann@", "@example.com", "ann@@example.com", "ann@exa mple.com", "ann@-x.com", "\u212Aate@example.com", `${"a".repeat(65)}@example.com`]) {
      expect([email, violation({ email, password: ok })]).toEqual([email, { field: "email", constraint: "type", expected: "an email address" }])
    }
    expect(violation({ email: `a@${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.${"e".repeat(70)}`, password: ok }))
      .toEqual({ field: "email", constraint: "max_length", max: 254 })
    expect(violation({ email: "ann@example.com" })).toEqual({ field: "password", constraint: "required" })
    expect(violation({ email: "ann@example.com", password: "short12" })).toEqual({ field: "password", constraint: "min_length", min: 8 })
    // Eight code points, four of them astral (eight UTF-16 units more).
    expect(violation({ email: "ann@example.com", password: "abcd😀😀😀😀" })).toBeUndefined()
    expect(violation({ email: "ann@example.com", password: "😀".repeat(7) })).toMatchObject({ constraint: "min_length" })
    expect(violation({ email: "ann@example.com", password: "😀".repeat(128) })).toBeUndefined()
    expect(violation({ email: "ann@example.com", password: "x".repeat(129) })).toEqual({ field: "password", constraint: "max_length", max: 128 })
    expect(violation({ email: "ann@example.com", password: "abcdefgh\uD800" })).toMatchObject({ field: "password", constraint: "type" })
    expect(violation({ email: "ann@example.com", password: 12345678 })).toMatchObject({ field: "password", constraint: "type" })
    expect(violation([])).toMatchObject({ field: "body", constraint: "type" })
  })

  it("sign-in takes any strings, normalising the email the same way", () => {
    expect(Schema.decodeUnknownSync(SignInPayload)({ email: " X@Y.Z ", password: "p" })).toEqual({ email: "x@y.z", password: "p" })
    const missing = Schema.decodeUnknownEither(SignInPayload)({ email: "x@y.z" })
    expect(Either.isLeft(missing) && violationOf(missing.left.issue)).toEqual({ field: "password", constraint: "required" })
  })
})

const issuerOptions = { issuer: Option.some("https://tasks.example"), audience: Option.some("tasks") }

/** Accounts on the in-memory repository, with real hashing, issuer and verifier. */
const layer = (concurrency = 2, userClaim = "sub") => {
  const verifier = makeTokenVerifier({
    secret: Option.some(Redacted.make(SECRET)),
    keySet: Option.none(),
    ...issuerOptions,
    userClaim,
    mapSubjects: true
  })
  return Layer.mergeAll(AccountsLive, AuthenticatorLive).pipe(
    Layer.provideMerge(makeAccountRepositoryMemory([1, 2, 3])),
    Layer.provideMerge(Layer.succeed(Passwords, makePasswords(concurrency))),
    Layer.provide(Layer.succeed(
      TokenIssuer,
      makeTokenIssuer({ secret: Redacted.make(SECRET), ...issuerOptions, userClaim, ttl: Duration.hours(24) })
    )),
    Layer.provideMerge(Layer.succeed(TokenVerifier, verifier))
  )
}

const signUp = (email: string, password: string) =>
  Effect.flatMap(Accounts, (accounts) =>
    accounts.signUp(Schema.decodeUnknownSync(SignUpPayload)({ email, password })))
const signIn = (email: string, password: string) =>
  Effect.flatMap(Accounts, (accounts) => accounts.signIn(Schema.decodeUnknownSync(SignInPayload)({ email, password })))

const tagOf = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(effect), (result) => (Either.isLeft(result) ? result.left._tag : "ok"))

describe("Accounts", () => {
  it.live("sign-up then sign-in gives an HS256 token with the contract's claims, which authenticates", () =>
    Effect.gen(function*() {
      const { userId } = yield* signUp(" Ann@Example.com", "correct horse")
      expect(userId).toBe(4) // 1..3 were in use
      const response = yield* signIn("ann@example.COM ", "correct horse")
      expect(response).toMatchObject({ token_type: "bearer", expires_in: 86_400 })
      const header = Jose.decodeProtectedHeader(response.access_token)
      const claims = Jose.decodeJwt(response.access_token)
      expect(header.alg).toBe("HS256")
      expect(claims).toMatchObject({ sub: "4", email: "ann@example.com", iss: "https://tasks.example", aud: "tasks" })
      expect(claims.exp! - claims.iat!).toBe(86_400)
      expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(5)
      const authenticator = yield* Authenticator
      expect(yield* authenticator.authenticate(response.access_token)).toBe(userId)
      expect(yield* authenticator.me(userId)).toEqual({ user_id: userId, email: "ann@example.com" })
      const taken = yield* Effect.either(signUp("ANN@example.com", "another password"))
      expect(Either.isLeft(taken) && taken.left._tag).toBe("EmailTaken")
    }).pipe(Effect.provide(layer())))

  it.live("with another AUTH_USER_CLAIM the id is under that claim too", () =>
    Effect.gen(function*() {
      const { userId } = yield* signUp("uid@example.com", "password1")
      const { access_token } = yield* signIn("uid@example.com", "password1")
      expect(Jose.decodeJwt(access_token)).toMatchObject({ sub: String(userId), uid: userId })
      expect(yield* Effect.flatMap(Authenticator, (a) => a.authenticate(access_token))).toBe(userId)
    }).pipe(Effect.provide(layer(2, "uid"))))

  it.live("unknown email and wrong password: one and the same error", () =>
    Effect.gen(function*() {
      yield* signUp("ann@example.com", "correct horse")
      const wrong = yield* Effect.flip(signIn("ann@example.com", "wrong horse"))
      const unknown = yield* Effect.flip(signIn("nobody@example.com", "correct horse"))
      const invalid = yield* Effect.flip(signIn("not an email", "correct horse"))
      expect(wrong).toEqual(unknown)
      expect(invalid).toEqual(unknown)
      expect(unknown).toMatchObject({ _tag: "InvalidCredentials", message: "Invalid email or password" })
    }).pipe(Effect.provide(layer())))

  it.live("after 10 failures (unknown emails too) sign-in is Throttled, a refused attempt does not count", () =>
    Effect.gen(function*() {
      yield* signUp("ann@example.com", "correct horse")
      for (const email of ["ann@example.com", "nobody@example.com"]) {
        for (let i = 0; i < MAX_FAILURES; i++) {
          expect((yield* Effect.flip(signIn(email, "wrong horse")))._tag).toBe("InvalidCredentials")
        }
        const refused = yield* Effect.flip(signIn(email, "correct horse"))
        expect(refused).toMatchObject({ _tag: "Throttled" })
        expect(refused._tag === "Throttled" && refused.retryAfterSeconds).toBeGreaterThan(890)
      }
      const repository = yield* AccountRepository
      // Still exactly ten failures: the refusals were not counted.
      yield* repository.clearFailures("ann@example.com")
      for (let i = 0; i < MAX_FAILURES - 1; i++) yield* repository.recordFailure("ann@example.com")
      expect((yield* signIn("ann@example.com", "correct horse")).token_type).toBe("bearer")
      // Success forgets the failures.
      expect(yield* repository.throttledFor("ann@example.com")).toEqual(Option.none())
    }).pipe(Effect.provide(layer())), { timeout: 60_000 })

  it.live("beyond the hashing bound sign-up and sign-in are Busy at once", () =>
    Effect.gen(function*() {
      yield* signUp("ann@example.com", "correct horse")
      const results = yield* Effect.all(
        [
          tagOf(signIn("ann@example.com", "correct horse")),
          tagOf(signUp("bob@example.com", "password2")),
          tagOf(signIn("x@example.com", "y"))
        ],
        { concurrency: "unbounded" }
      )
      expect(results.filter((tag) => tag === "Busy")).toHaveLength(2)
    }).pipe(Effect.provide(layer(1))))

  it.live("an identity provider's subject gets a user id of its own, stable, with no email", () =>
    Effect.gen(function*() {
      const authenticator = yield* Authenticator
      const token = yield* signHmac(SECRET, { sub: "auth0|abc", iss: "https://tasks.example", aud: "tasks" })
      const userId = yield* authenticator.authenticate(token)
      expect([1, 2, 3]).not.toContain(userId)
      const again = yield* signHmac(SECRET, { sub: "auth0|abc", iss: "https://tasks.example", aud: "tasks", x: 1 })
      expect(yield* authenticator.authenticate(again)).toBe(userId)
      expect(yield* authenticator.me(userId)).toEqual({ user_id: userId })
      expect(yield* authenticator.authenticate(yield* signHmac(SECRET, { sub: "7", iss: "https://tasks.example", aud: "tasks" })))
        .toBe(UserId.make(7))
    }).pipe(Effect.provide(layer())))
})

