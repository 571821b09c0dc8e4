import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import { AccountRepositorySql } from "../src/identity/AccountRepositorySql.ts"
import { TaskRepositorySql } from "../src/repository/TaskRepositorySql.ts"
import { asError, call, json, serve } from "./support/http.ts"
import { asMe, asSignedUp, bearer, expectTokenRefused, SECRET } from "./support/identityHttp.ts"
import { jwksServer, signHmac, signingKey, signWith } from "./support/identityJwks.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/** CONTRACT "Version 2: identity": the corners of the table and of accounts, over HTTP. */

const asJson = { "content-type": "application/json" }
const auth = { AUTH_JWT_SECRET: SECRET }

describe("identity corners", () => {
  it.scopedLive("HEAD gets the 401 status and challenge without a body", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const missing = yield* call(base, "HEAD", "/users/7/tasks")
      expect([missing.status, missing.text, missing.headers["www-authenticate"]]).toEqual([401, "", "Bearer"])
      const invalid = yield* call(base, "HEAD", "/users/7/tasks/1", undefined, { authorization: "Bearer x.y.z" })
      expect([invalid.status, invalid.text, invalid.headers["www-authenticate"]]).toEqual([401, "", "Bearer error=\"invalid_token\""])
    }))

  it.scopedLive("a token is read from the Authorization header only, and an oversized one is refused as invalid", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const token = yield* signHmac(SECRET, { sub: "7" })
      expectTokenRefused(yield* call(base, "GET", `/users/7/tasks?access_token=${token}`), "MISSING_TOKEN", token)
      const long = yield* signHmac(SECRET, { sub: "7", padding: "p".repeat(10_000) })
      const answer = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(long))
      expectTokenRefused(answer, "INVALID_TOKEN", long)
    }))

  it.scopedLive("/auth/me tells the account's email, never one a token merely claims", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const claimed = yield* signHmac(SECRET, { sub: "7", email: "claimed@example.com" })
      expect((yield* call(base, "GET", "/auth/me", undefined, bearer(claimed))).json).toEqual({ user_id: 7 })
      const body = json({ email: "ann@example.com", password: "correct horse" })
      const { user_id } = asSignedUp(yield* call(base, "POST", "/auth/signup", body, asJson))
      const other = yield* signHmac(SECRET, { sub: String(user_id), email: "claimed@example.com" })
      expect((yield* call(base, "GET", "/auth/me", undefined, bearer(other))).json).toEqual({ user_id, email: "ann@example.com" })
    }))

  it.scopedLive("AUTH_MAP_SUBJECTS refuses a subject or issuer too long to be a real provider's", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { ...auth, AUTH_MAP_SUBJECTS: "true" } })
      for (const claims of [{ sub: "s".repeat(256) }, { sub: "user_2abc", iss: `https://${"i".repeat(256)}` }, { sub: "" }]) {
        const token = yield* signHmac(SECRET, claims)
        expectTokenRefused(yield* call(base, "GET", "/auth/me", undefined, bearer(token)), "INVALID_TOKEN", token)
      }
    }))

  it.scopedLive("a key embedded in the token's header (jwk, jku) is never trusted; odd claims are invalid, not errors", () =>
    Effect.gen(function*() {
      const jwks = yield* jwksServer
      const known = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(known.publicJwk)
      const base = yield* serve(undefined, { auth: { ...auth, AUTH_JWKS_URL: jwks.url.href } })
      const attacker = yield* signingKey("RS256", "rsa-1")
      const rows: ReadonlyArray<readonly [string, string]> = [
        ["embedded jwk", yield* signWith(attacker, { sub: "7" }, { jwk: { kty: "RSA", n: String(attacker.publicJwk.n), e: String(attacker.publicJwk.e) } })],
        ["jku to the attacker", yield* signWith(attacker, { sub: "7" }, { jku: "http://127.0.0.1:1/jwks.json" })],
        ["exp a string", yield* signHmac(SECRET, { sub: "7", exp: "9999999999" })]
      ]
      for (const [name, token] of rows) {
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, bearer(token))
        expect([name, answer.status]).toEqual([name, 401])
        expectTokenRefused(answer, "INVALID_TOKEN", token)
      }
      const leadingZeros = yield* signHmac(SECRET, { sub: "007" })
      expect((yield* call(base, "GET", "/users/7/tasks", undefined, bearer(leadingZeros))).status).toBe(200)
    }))

  // Found by this test (fixed in src/httpapi/Security.ts): a Bearer credential that is not
  // token68 (a blank inside, a brace, a non-ASCII letter) was read as no credential at all. The
  // contract names MISSING_TOKEN for "no Authorization header, or not the Bearer scheme" only; a
  // Bearer token that is not a JWT is INVALID_TOKEN.
  it.scopedLive("a Bearer credential that is not even token68 is INVALID_TOKEN, not MISSING_TOKEN", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const valid = yield* signHmac(SECRET, { sub: "7" })
      for (const token of [`${valid} extra`, "{not-a-jwt}", "jw\u00e9t.abc.def", "a,b"]) {
        const answer = yield* call(base, "GET", "/users/7/tasks", undefined, { authorization: `Bearer ${token}` })
        expect([token, answer.status, asError(answer).code]).toEqual([token, 401, "INVALID_TOKEN"])
        expect(answer.headers["www-authenticate"]).toBe("Bearer error=\"invalid_token\"")
      }
    }))

  it.scopedLive("sign-in with a password near the body limit answers quickly (bounded work per request)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      const started = Date.now()
      const answer = yield* call(base, "POST", "/auth/signin", json({ email: "ann@example.com", password: "p".repeat(1000 * 1000) }), asJson)
      const elapsed = Date.now() - started
      expect([400, 401]).toContain(answer.status)
      // A hash of a short password costs tens of milliseconds; a megabyte must not cost seconds.
      expect(elapsed).toBeLessThan(3_000)
    }))

  it.scopedLive("unknown email and wrong password take about the same time (coarse: within 2x of each other's median)", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth })
      yield* call(base, "POST", "/auth/signup", json({ email: "ann@example.com", password: "correct horse" }), asJson)
      const timed = (email: string) =>
        Effect.map(Effect.timed(call(base, "POST", "/auth/signin", json({ email, password: "wrong horse" }), asJson)), ([duration, answer]) => {
          expect(answer.status).toBe(401)
          return Duration.toMillis(duration)
        })
      const known: Array<number> = []
      const unknown: Array<number> = []
      // Fewer than 10 failures per email, so the throttle never answers instead.
      for (let i = 0; i < 8; i++) {
        known.push(yield* timed("ann@example.com"))
        unknown.push(yield* timed(`nobody${i}@example.com`))
      }
      const median = (values: Array<number>) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!
      const ratio = median(unknown) / median(known)
      expect(ratio).toBeGreaterThan(0.5)
      expect(ratio).toBeLessThan(2)
    }), { timeout: 30_000 })

  it.scopedLive("beyond AUTH_HASH_CONCURRENCY, sign-ups get 429 with Retry-After at once, and tasks still answer", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { ...auth, AUTH_HASH_CONCURRENCY: "1" } })
      const token = bearer(yield* signHmac(SECRET, { sub: "7" }))
      const [signups, tasks] = yield* Effect.all([
        Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) => call(base, "POST", "/auth/signup", json({ email: `u${i}@example.com`, password: "correct horse" }), asJson),
          { concurrency: "unbounded" }
        ),
        Effect.delay(call(base, "GET", "/users/7/tasks", undefined, token), Duration.millis(5))
      ], { concurrency: "unbounded" })
      expect(tasks.status).toBe(200)
      const statuses = signups.map((answer) => answer.status)
      expect(statuses.every((status) => status === 201 || status === 429)).toBe(true)
      expect(statuses).toContain(201)
      const busy = signups.filter((answer) => answer.status === 429)
      expect(busy.length).toBeGreaterThan(0)
      for (const answer of busy) {
        expect(asError(answer).code).toBe("TOO_MANY_REQUESTS")
        expect(Number(answer.headers["retry-after"])).toBeGreaterThanOrEqual(1)
      }
    }), { timeout: 30_000 })

  it.scopedLive("on PostgreSQL a new account's id is never one already used by tasks or a mapped subject", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      // One pool for both stores, as one service instance has.
      const database = yield* Layer.build(MigratorLive.pipe(
        Layer.provideMerge(pgLayer(url, { poolSize: 5, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })),
        Layer.provide(NodeContext.layer),
        Layer.orDie
      ))
      const shared = Layer.succeedContext(database)
      const base = yield* serve(TaskRepositorySql.pipe(Layer.provide(shared), Layer.orDie), {
        auth: { ...auth, AUTH_MAP_SUBJECTS: "true" },
        accounts: AccountRepositorySql.pipe(Layer.provide(shared))
      })
      const used = new Set<number>()
      for (const user of [1, 2, 3, 5]) {
        const created = yield* call(base, "POST", `/users/${user}/tasks`, json({ title: "t" }), {
          ...bearer(yield* signHmac(SECRET, { sub: String(user) })),
          ...asJson
        })
        expect(created.status).toBe(201)
        used.add(user)
      }
      const mapped = yield* call(base, "GET", "/auth/me", undefined, bearer(yield* signHmac(SECRET, { sub: "auth0|x", iss: "https://a" })))
      const mappedId = asMe(mapped).user_id
      expect(used.has(mappedId)).toBe(false)
      used.add(mappedId)
      for (let i = 0; i < 3; i++) {
        const signup = yield* call(base, "POST", "/auth/signup", json({ email: `n${i}@example.com`, password: "correct horse" }), asJson)
        expect(signup.status).toBe(201)
        const id = asSignedUp(signup).user_id
        expect([id, used.has(id)]).toEqual([id, false])
        used.add(id)
      }
    }), { timeout: 60_000 })
})
