import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import * as Jose from "jose"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import type { AccountRepository } from "../src/identity/AccountRepository.ts"
import { AccountRepositorySql } from "../src/identity/AccountRepositorySql.ts"
import { type Answer, asError, asTask, call, json, serve } from "./support/http.ts"
import { asAccessToken, asSignedUp, bearer, SECRET } from "./support/identityHttp.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/** CONTRACT "Version 2: identity", accounts: sign-up and sign-in over HTTP, and the token they give. */

const asJson = { "content-type": "application/json" }
const auth = { AUTH_JWT_SECRET: SECRET }

const post = (base: string, path: string, body: unknown) => call(base, "POST", path, json(body), asJson)

const signedUpId = (answer: Answer): number => {
  expect(answer.status).toBe(201)
  expect(answer.json).toEqual({ message: "User created successfully", user_id: expect.any(Number) })
  return asSignedUp(answer).user_id
}

const accessToken = (answer: Answer): string => {
  expect(answer.status).toBe(200)
  expect(answer.json).toEqual({ access_token: expect.any(String), token_type: "bearer", expires_in: expect.any(Number) })
  return asAccessToken(answer).access_token
}

/** The account repository of one service instance on the database at `url`; `migrate` for the first. */
const accountsOn = (url: Redacted.Redacted<string>, migrate: boolean): Layer.Layer<AccountRepository> =>
  AccountRepositorySql.pipe(
    Layer.provide(migrate ? MigratorLive : Layer.empty),
    Layer.provideMerge(pgLayer(url, { poolSize: 3, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })),
    Layer.provide(NodeContext.layer),
    Layer.orDie
  )

describe("POST /auth/signup", () => {
  it.scopedLive("trims and lower-cases the email; a taken email, in any case, is 409 EMAIL_EXISTS", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const created = yield* post(base, "/auth/signup", { email: "  Ann.Lee@Example.COM ", password: "correct horse" })
      const id = signedUpId(created)
      expect(id).toBeGreaterThan(0)
      expect(created.headers["cache-control"]).toBe("no-store")
      const token = accessToken(yield* post(base, "/auth/signin", { email: "ann.lee@example.com", password: "correct horse" }))
      const me = yield* call(base, "GET", "/auth/me", undefined, bearer(token))
      expect(me.json).toEqual({ user_id: id, email: "ann.lee@example.com" })
      for (const email of ["ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "\tann.lee@example.com\n"]) {
        const taken = yield* post(base, "/auth/signup", { email, password: "another password" })
        expect([email, taken.status, asError(taken).code]).toEqual([email, 409, "EMAIL_EXISTS"])
        expect(taken.headers["cache-control"]).toBe("no-store")
      }
      // A second account gets an id of its own.
      expect(signedUpId(yield* post(base, "/auth/signup", { email: "bob@example.com", password: "correct horse" }))).not.toBe(id)
    }))

  it.scopedLive("field errors are 400 VALIDATION_ERROR naming email or password; the body must be JSON", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ password: "correct horse" }, "email"],
        [{ email: 5, password: "correct horse" }, "email"],
        [{ email: "not-an-address", password: "correct horse" }, "email"],
        [{ email: `${"a".repeat(60)}@${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(80)}.com`, password: "correct horse" }, "email"],
        [{ email: "ann@example.com" }, "password"],
        [{ email: "ann@example.com", password: "short" }, "password"],
        [{ email: "ann@example.com", password: "x".repeat(129) }, "password"],
        [{ email: "ann@example.com", password: 12345678 }, "password"]
      ]
      for (const [body, field] of cases) {
        const answer = yield* post(base, "/auth/signup", body)
        expect([body, answer.status, asError(answer).code]).toEqual([body, 400, "VALIDATION_ERROR"])
        expect(asError(answer).details).toMatchObject({ field })
        expect(answer.text).not.toContain("correct horse")
      }
      expect((yield* call(base, "POST", "/auth/signup", "{", asJson)).status).toBe(400)
      const plain = yield* call(base, "POST", "/auth/signup", json({ email: "ann@example.com", password: "correct horse" }), {
        "content-type": "text/plain"
      })
      expect([plain.status, asError(plain).code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"])
      // Nothing above made an account.
      expect(signedUpId(yield* post(base, "/auth/signup", { email: "ann@example.com", password: "correct horse" }))).toBeGreaterThan(0)
    }))
})

describe("POST /auth/signin", () => {
  it.scopedLive("gives an HS256 token with sub (a decimal string), email, iat and exp, which works on the task endpoints", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const id = signedUpId(yield* post(base, "/auth/signup", { email: "ann@example.com", password: "correct horse" }))
      const answer = yield* post(base, "/auth/signin", { email: " ANN@example.com", password: "correct horse" })
      const token = accessToken(answer)
      expect(answer.headers["cache-control"]).toBe("no-store")
      expect(Jose.decodeProtectedHeader(token).alg).toBe("HS256")
      const { payload } = yield* Effect.promise(() => Jose.jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] }))
      expect(payload).toEqual({ sub: String(id), email: "ann@example.com", iat: expect.any(Number), exp: expect.any(Number) })
      expect(payload.exp! - payload.iat!).toBe(24 * 3600)
      expect(asAccessToken(answer).expires_in).toBe(24 * 3600)
      expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60)

      const created = yield* call(base, "POST", `/users/${id}/tasks`, json({ title: "mine" }), { ...bearer(token), ...asJson })
      expect(created.status).toBe(201)
      expect(asTask(created).user_id).toBe(id)
      expect((yield* call(base, "GET", `/users/${id}/tasks`, undefined, bearer(token))).json).toHaveLength(1)
      expect((yield* call(base, "GET", `/users/${id + 1}/tasks`, undefined, bearer(token))).status).toBe(403)
    }))

  it.scopedLive("AUTH_TOKEN_TTL, AUTH_ISSUER, AUTH_AUDIENCE and AUTH_USER_CLAIM shape the token", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, {
        auth: { ...auth, AUTH_TOKEN_TTL: "900 seconds", AUTH_ISSUER: "https://tasks.example", AUTH_AUDIENCE: "tasks", AUTH_USER_CLAIM: "uid" }
      })
      const id = signedUpId(yield* post(base, "/auth/signup", { email: "ann@example.com", password: "correct horse" }))
      const answer = yield* post(base, "/auth/signin", { email: "ann@example.com", password: "correct horse" })
      const token = accessToken(answer)
      expect(asAccessToken(answer).expires_in).toBe(900)
      const payload = Jose.decodeJwt(token)
      expect(payload).toMatchObject({ sub: String(id), iss: "https://tasks.example", aud: "tasks", email: "ann@example.com" })
      expect([payload["uid"], payload.exp! - payload.iat!]).toEqual([expect.toSatisfy((uid) => Number(uid) === id), 900])
      expect((yield* call(base, "GET", `/users/${id}/tasks`, undefined, bearer(token))).status).toBe(200)
    }))

  it.scopedLive("unknown email and wrong password: one and the same 401 INVALID_CREDENTIALS, with no challenge", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      signedUpId(yield* post(base, "/auth/signup", { email: "ann@example.com", password: "correct horse" }))
      const wrong = yield* post(base, "/auth/signin", { email: "ann@example.com", password: "wrong horse" })
      const unknown = yield* post(base, "/auth/signin", { email: "nobody@example.com", password: "correct horse" })
      for (const answer of [wrong, unknown]) {
        expect(answer.status).toBe(401)
        expect(asError(answer).code).toBe("INVALID_CREDENTIALS")
        expect(answer.headers["www-authenticate"]).toBeUndefined()
        expect(answer.headers["cache-control"]).toBe("no-store")
        expect(answer.text).not.toMatch(/horse|nobody/)
      }
      expect(unknown.text).toBe(wrong.text)
      expect(Object.keys(unknown.headers).sort()).toEqual(Object.keys(wrong.headers).sort())
      for (const body of [{ email: "ann@example.com" }, { email: 1, password: "x" }, { password: "correct horse" }]) {
        const answer = yield* post(base, "/auth/signin", body)
        expect([body, answer.status, asError(answer).code]).toEqual([body, 400, "VALIDATION_ERROR"])
      }
    }))

  it.scopedLive("two instances on one PostgreSQL database: an account of one signs in on the other; 10 failures across both give 429 with Retry-After on both", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const a = yield* serve(undefined, { auth, accounts: accountsOn(url, true) })
      const b = yield* serve(undefined, { auth, accounts: accountsOn(url, false) })
      const id = signedUpId(yield* post(a, "/auth/signup", { email: "ann@example.com", password: "correct horse" }))
      expect(asError(yield* post(b, "/auth/signup", { email: "Ann@example.com", password: "correct horse" })).code).toBe("EMAIL_EXISTS")
      const token = accessToken(yield* post(b, "/auth/signin", { email: "ann@example.com", password: "correct horse" }))
      expect((yield* call(a, "GET", "/auth/me", undefined, bearer(token))).json).toEqual({ user_id: id, email: "ann@example.com" })

      for (const [email, password] of [["ann@example.com", "correct horse"], ["ghost@example.com", "any password"]] as const) {
        for (let i = 0; i < 10; i++) {
          const failed = yield* post(i % 2 === 0 ? a : b, "/auth/signin", { email, password: "wrong horse" })
          expect([email, i, failed.status]).toEqual([email, i, 401])
        }
        // Even the right password: the 429 says nothing about whether the account exists.
        for (const base of [a, b]) {
          const refused = yield* post(base, "/auth/signin", { email: email.toUpperCase(), password })
          expect([email, refused.status, asError(refused).code]).toEqual([email, 429, "TOO_MANY_REQUESTS"])
          const retryAfter = Number(refused.headers["retry-after"])
          expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 15 * 60).toBe(true)
          expect(refused.headers["cache-control"]).toBe("no-store")
        }
      }
      // Another email is not throttled.
      signedUpId(yield* post(b, "/auth/signup", { email: "bob@example.com", password: "correct horse" }))
      accessToken(yield* post(a, "/auth/signin", { email: "bob@example.com", password: "correct horse" }))
    }), { timeout: 60_000 })
})
