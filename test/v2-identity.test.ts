import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Jose from "jose"
import { LEEWAY_SECONDS } from "../src/identity/Tokens.ts"
import { asError, asTask, call, json, serve } from "./support/http.ts"
import { asMe, bearer, expectTokenRefused, OTHER_SECRET, SECRET, type TokenCode } from "./support/identityHttp.ts"
import { jwksServer, secondsFromNow, signHmac, signingKey, signWith, unsecured } from "./support/identityJwks.ts"

/**
 * CONTRACT "Version 2: identity", the table, over HTTP: every way a token can be refused, on a
 * task endpoint of the real server, with its envelope and its `WWW-Authenticate`.
 */

/** A token that is wrong in the way `name` says, and the code it must be refused with. */
type Row = readonly [name: string, headers: Effect.Effect<Record<string, string>>, code: TokenCode]

const header = (value: string) => Effect.succeed({ authorization: value })
const token = (signed: Effect.Effect<string>) => Effect.map(signed, (value) => ({ authorization: `Bearer ${value}` }))

/** Sends each row to a task endpoint of user 7 and checks the 401 it gets. */
const refusesEvery = (base: string, rows: ReadonlyArray<Row>) =>
  Effect.forEach(rows, ([name, make, code]) =>
    Effect.gen(function*() {
      const headers = yield* make
      const answer = yield* call(base, "GET", "/users/7/tasks", undefined, headers)
      const sent = (headers.authorization ?? "").replace(/^bearer\s*/i, "")
      expect([name, answer.status, answer.json]).toEqual([name, 401, expect.anything()])
      expectTokenRefused(answer, code, sent)
    }), { discard: true })

describe("the identity table with AUTH_JWT_SECRET", () => {
  it.scopedLive("refuses every row with its code, challenge and envelope", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const rsa = yield* signingKey("RS256", "rsa-1")
      const rows: ReadonlyArray<Row> = [
        ["no Authorization header", Effect.succeed<Record<string, string>>({}), "MISSING_TOKEN"],
        ["another scheme", header("Basic dXNlcjpwYXNz"), "MISSING_TOKEN"],
        ["Bearer alone", header("Bearer"), "MISSING_TOKEN"],
        ["Bearer and blanks", header("Bearer    "), "MISSING_TOKEN"],
        ["garbage", header("Bearer not-a-jwt-at-all"), "INVALID_TOKEN"],
        ["three garbage parts", header("Bearer aaaaaa.bbbbbb.cccccc"), "INVALID_TOKEN"],
        ["signed with another secret", token(signHmac(OTHER_SECRET, { sub: "7" })), "INVALID_TOKEN"],
        ["alg none", header(`Bearer ${unsecured({ sub: "7" })}`), "INVALID_TOKEN"],
        ["RS256 while only a secret is configured", token(signWith(rsa, { sub: "7" })), "INVALID_TOKEN"],
        ["nbf beyond the leeway", token(signHmac(SECRET, { sub: "7", nbf: secondsFromNow(120) })), "INVALID_TOKEN"],
        ["no sub", token(signHmac(SECRET, { email: "a@b.example" })), "INVALID_TOKEN"],
        ["sub 0", token(signHmac(SECRET, { sub: "0" })), "INVALID_TOKEN"],
        ["sub out of range", token(signHmac(SECRET, { sub: 2147483648 })), "INVALID_TOKEN"],
        ["sub a string without AUTH_MAP_SUBJECTS", token(signHmac(SECRET, { sub: "auth0|abc" })), "INVALID_TOKEN"],
        ["sub an object", token(signHmac(SECRET, { sub: { id: 7 } })), "INVALID_TOKEN"],
        ["expired beyond the leeway", token(signHmac(SECRET, { sub: "7", exp: secondsFromNow(-120) })), "EXPIRED_TOKEN"]
      ]
      yield* refusesEvery(base, rows)
    }))

  it.scopedLive("accepts HS256/384/512, any-case Bearer, sub as number or decimal string, and the leeway", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const accepted: ReadonlyArray<readonly [string, Effect.Effect<string>, string]> = [
        ["HS256", signHmac(SECRET, { sub: "7" }), "Bearer"],
        ["HS384", signHmac(SECRET, { sub: "7" }, "HS384"), "Bearer"],
        ["HS512", signHmac(SECRET, { sub: 7 }, "HS512"), "Bearer"],
        ["lower-case scheme", signHmac(SECRET, { sub: "7", jti: "lower" }), "bearer"],
        ["upper-case scheme", signHmac(SECRET, { sub: "7", jti: "upper" }), "BEARER"],
        ["expired within the leeway", signHmac(SECRET, { sub: "7", exp: secondsFromNow(-10) }), "Bearer"],
        ["nbf within the leeway", signHmac(SECRET, { sub: "7", nbf: secondsFromNow(10) }), "Bearer"]
      ]
      for (const [name, make, scheme] of accepted) {
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, { authorization: `${scheme} ${yield* make}` })
        expect([name, answer.status]).toEqual([name, 200])
        expect(answer.headers["www-authenticate"]).toBeUndefined()
      }
      const created = yield* call(base, "POST", "/users/7/tasks", json({ title: "mine" }), {
        ...bearer(yield* signHmac(SECRET, { sub: "7" })),
        "content-type": "application/json"
      })
      expect(created.status).toBe(201)
      expect(asTask(created).user_id).toBe(7)
    }))

  it.scopedLive("a token accepted once stops being accepted when it expires beyond the leeway (the verified-token cache included)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const signed = yield* signHmac(SECRET, { sub: "7", exp: secondsFromNow(-LEEWAY_SECONDS + 2) })
      expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(signed))).status).toBe(200)
      yield* Effect.sleep("3500 millis")
      expectTokenRefused(yield* call(base, "GET", "/users/7/tasks", undefined, bearer(signed)), "EXPIRED_TOKEN", signed)
    }))

  it.scopedLive("AUTH_ISSUER and AUTH_AUDIENCE must match; AUTH_USER_CLAIM names the claim", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, {
        auth: {
          AUTH_JWT_SECRET: SECRET,
          AUTH_ISSUER: "https://issuer.example",
          AUTH_AUDIENCE: "tasks",
          AUTH_USER_CLAIM: "uid"
        }
      })
      const good = { iss: "https://issuer.example", aud: "tasks", uid: 7 }
      yield* refusesEvery(base, [
        ["another issuer", token(signHmac(SECRET, { ...good, iss: "https://evil.example" })), "INVALID_TOKEN"],
        ["no issuer", token(signHmac(SECRET, { aud: "tasks", uid: 7 })), "INVALID_TOKEN"],
        ["another audience", token(signHmac(SECRET, { ...good, aud: "other" })), "INVALID_TOKEN"],
        ["no audience", token(signHmac(SECRET, { iss: "https://issuer.example", uid: 7 })), "INVALID_TOKEN"],
        ["the id in sub, not in the configured claim", token(signHmac(SECRET, { iss: good.iss, aud: "tasks", sub: "7" })), "INVALID_TOKEN"]
      ])
      const ok = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(yield* signHmac(SECRET, good)))
      expect(ok.status).toBe(200)
      const inList = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(yield* signHmac(SECRET, { ...good, aud: ["x", "tasks"] })))
      expect(inList.status).toBe(200)
    }))

  it.scopedLive("AUTH_MAP_SUBJECTS: a string subject acts for a user id of the service's own, the same one each time", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET, AUTH_MAP_SUBJECTS: "true" } })
      const me = (claims: Record<string, unknown>) =>
        Effect.flatMap(signHmac(SECRET, claims), (signed) => call(base, "GET", "/auth/me", undefined, bearer(signed)))
      const first = yield* me({ sub: "auth0|ann", iss: "https://a.example" })
      expect(first.status).toBe(200)
      expect(first.headers["cache-control"]).toBe("no-store")
      const { user_id } = asMe(first)
      expect(first.json).toEqual({ user_id: expect.any(Number) })
      expect(user_id).toBeGreaterThan(0)
      // Stable, and per (iss, subject): the same subject from another issuer is someone else.
      expect((yield* me({ sub: "auth0|ann", iss: "https://a.example", jti: "again" })).json).toEqual({ user_id })
      const other = yield* me({ sub: "auth0|ann", iss: "https://b.example" })
      expect(asMe(other).user_id).not.toBe(user_id)
      // The mapped id is the one the task paths take; another user's path is still 403.
      const signed = yield* signHmac(SECRET, { sub: "auth0|ann", iss: "https://a.example" })
      const list = yield* call(base, "GET", `/users/${user_id}/tasks`, undefined, bearer(signed))
      expect(list.status).toBe(200)
      const foreign = yield* call(base, "GET", `/users/${user_id + 1}/tasks`, undefined, bearer(signed))
      expect(foreign.status).toBe(403)
      // A numeric subject is still the user id itself.
      expect((yield* me({ sub: "42" })).json).toEqual({ user_id: 42 })
    }))

  it.scopedLive("/auth/me tells the token's user id, and the email of an account; it needs a token", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const me = yield* call(base, "GET", "/auth/me", undefined, bearer(yield* signHmac(SECRET, { sub: "7" })))
      expect([me.status, me.json]).toEqual([200, { user_id: 7 }])
      expectTokenRefused(yield* call(base, "GET", "/auth/me"), "MISSING_TOKEN")
      const expired = yield* signHmac(SECRET, { sub: "7", exp: secondsFromNow(-300) })
      expectTokenRefused(yield* call(base, "GET", "/auth/me", undefined, bearer(expired)), "EXPIRED_TOKEN", expired)
    }))
})

describe("the identity table with AUTH_JWKS_URL", () => {
  it.scopedLive("RS256 and EdDSA from the key set are accepted; HS tokens, alg none and tampering are not", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      const ed = yield* signingKey("EdDSA", "ed-1")
      const stranger = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk, ed.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWKS_URL: jwks.url.href } })
      for (const key of [rsa, ed]) {
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(yield* signWith(key, { sub: "7" })))
        expect([key.alg, answer.status]).toEqual([key.alg, 200])
      }
      // Algorithm confusion: the RSA public key, as a verifier would hold it, used as an HMAC secret.
      const publicPem = yield* Effect.promise(() => Jose.exportSPKI(rsa.publicKey))
      const rsaSigned = yield* signWith(rsa, { sub: "7", jti: "tampered" })
      const [head, payload] = rsaSigned.split(".")
      const otherPayload = Buffer.from(JSON.stringify({ sub: "8", exp: secondsFromNow(3600) })).toString("base64url")
      yield* refusesEvery(base, [
        ["HS256 with only a key set", token(signHmac(SECRET, { sub: "7" })), "INVALID_TOKEN"],
        ["HS256 signed with the RSA public key", token(signHmac(publicPem, { sub: "7" })), "INVALID_TOKEN"],
        ["alg none", header(`Bearer ${unsecured({ sub: "7" })}`), "INVALID_TOKEN"],
        ["signed by another key with a known kid", token(signWith(stranger, { sub: "7" })), "INVALID_TOKEN"],
        ["payload swapped under a valid signature", header(`Bearer ${head}.${otherPayload}.${rsaSigned.split(".")[2]}`), "INVALID_TOKEN"],
        ["signature cut", header(`Bearer ${head}.${payload}.`), "INVALID_TOKEN"],
        ["expired", token(signWith(ed, { sub: "7", exp: secondsFromNow(-120) })), "EXPIRED_TOKEN"]
      ])
    }))

  it.scopedLive("without AUTH_JWT_SECRET, /auth/signup and /auth/signin are 404 and /auth/me works", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWKS_URL: jwks.url.href } })
      const body = json({ email: "ann@example.com", password: "correct horse" })
      for (const path of ["/auth/signup", "/auth/signin"]) {
        const answer = yield* call(base, "POST", path, body, { "content-type": "application/json" })
        expect([path, answer.status, asError(answer).code]).toEqual([path, 404, "NOT_FOUND"])
      }
      const me = yield* call(base, "GET", "/auth/me", undefined, bearer(yield* signWith(rsa, { sub: "12" })))
      expect([me.status, me.json]).toEqual([200, { user_id: 12 }])
    }))

  it.scopedLive("a key set that is down or hangs: 503 (or 401) within 5 s for a token needing an unknown key", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk)
      for (const mode of ["error", "hang"] as const) {
        jwks.mode = mode
        const base = yield* serve(undefined, { auth: { AUTH_JWKS_URL: jwks.url.href } })
        const signed = yield* signWith(rsa, { sub: "7" })
        const started = Date.now()
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(signed))
        const elapsed = Date.now() - started
        expect([mode, answer.status]).toEqual([mode, expect.toSatisfy((status: number) => status === 503 || status === 401)])
        expect(elapsed).toBeLessThan(5_500)
        if (answer.status === 503) {
          expect(asError(answer).code).toBe("SERVICE_UNAVAILABLE")
          expect(answer.headers["cache-control"]).toBe("no-store")
        } else {
          expectTokenRefused(answer, "INVALID_TOKEN", signed)
        }
        expect(answer.text).not.toMatch(/at .*\.ts|stack|Error:/)
      }
    }), { timeout: 20_000 })

  it.scopedLive("keys already fetched keep working while the key set is down", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWKS_URL: jwks.url.href } })
      expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(yield* signWith(rsa, { sub: "7" })))).status).toBe(200)
      jwks.mode = "error"
      // A token never seen before (not in the verified-token cache), signed by the held key.
      const fresh = yield* signWith(rsa, { sub: "7", jti: "fresh" })
      expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(fresh))).status).toBe(200)
    }))

  // That a new kid is accepted within a minute is shown with a short cooldown in
  // identity-tokens.test.ts; over HTTP, the bound on fetches is what a test can see quickly.
  it.scopedLive("tokens naming unknown kids make at most one refetch a minute, and are 401 (never 5xx) meanwhile", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const first = yield* signingKey("ES256", "es-1")
      jwks.keys.push(first.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWKS_URL: jwks.url.href } })
      expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(yield* signWith(first, { sub: "7" })))).status).toBe(200)
      const fetchesBefore = jwks.fetches
      for (let i = 0; i < 5; i++) {
        const unknown = yield* signingKey("PS256", `unknown-${i}`)
        const signed = yield* signWith(unknown, { sub: "7" })
        expectTokenRefused(yield* call(base, "GET", "/users/7/tasks", undefined, bearer(signed)), "INVALID_TOKEN", signed)
      }
      expect(jwks.fetches - fetchesBefore).toBeLessThanOrEqual(1)
    }))
})

describe("with both a secret and a key set", () => {
  it.scopedLive("each verifier accepts its own algorithms only", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: jwks.url.href } })
      for (const signed of [yield* signHmac(SECRET, { sub: "7" }), yield* signWith(rsa, { sub: "7" })]) {
        expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(signed))).status).toBe(200)
      }
      const publicPem = yield* Effect.promise(() => Jose.exportSPKI(rsa.publicKey))
      yield* refusesEvery(base, [
        ["HS256 signed with the RSA public key", token(signHmac(publicPem, { sub: "7" })), "INVALID_TOKEN"],
        ["alg none", header(`Bearer ${unsecured({ sub: "7" })}`), "INVALID_TOKEN"]
      ])
    }))
})

describe("open mode (neither AUTH_JWT_SECRET nor AUTH_JWKS_URL)", () => {
  it.scopedLive("no token is needed, a token is ignored, and /auth/* is 404 like an unknown route", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      expect((yield* call(base, "GET", "/users/7/tasks")).status).toBe(200)
      // Whatever a token says, or however broken it is, open mode does not read it.
      const someoneElse = yield* signHmac(SECRET, { sub: "8" })
      for (const authorization of [`Bearer ${someoneElse}`, "Bearer garbage", "Basic abc", "Bearer"]) {
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, { authorization })
        expect([authorization, answer.status]).toEqual([authorization, 200])
        expect(answer.headers["www-authenticate"]).toBeUndefined()
      }
      const unknown = yield* call(base, "GET", "/no/such/route")
      for (const [method, path] of [["POST", "/auth/signup"], ["POST", "/auth/signin"], ["GET", "/auth/me"]] as const) {
        const body = method === "POST" ? json({ email: "ann@example.com", password: "correct horse" }) : undefined
        const answer = yield* call(base, method, path, body, { "content-type": "application/json", ...bearer(someoneElse) })
        expect([path, answer.status, answer.json]).toEqual([path, 404, unknown.json])
      }
    }))
})
