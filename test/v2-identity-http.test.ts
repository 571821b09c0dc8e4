import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Redacted } from "effect"
import { TaskApiClient, UserId } from "../src/client.ts"
import { call, json, serve } from "./support/http.ts"
import { asAccessToken, bearer, SECRET } from "./support/identityHttp.ts"
import { jwksServer, secondsFromNow, signHmac, signingKey, signWith } from "./support/identityJwks.ts"

/**
 * CONTRACT "Version 2: identity", around the token: CORS for browsers that send one, the typed
 * client's view of the 401/403 answers, and the logs, which never carry a token.
 */

const asJson = { "content-type": "application/json" }
const headerList = (value: string | Array<string> | undefined) =>
  String(value ?? "").toLowerCase().split(",").map((name) => name.trim())

describe("CORS with a token verifier", () => {
  it.scopedLive("a preflight needs no token and allows the request headers a browser may send", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const wanted = ["authorization", "content-type", "idempotency-key", "if-match", "if-none-match", "x-request-id"]
      for (const [path, method] of [["/users/7/tasks", "POST"], ["/users/7/tasks/1", "PUT"], ["/users/7/tasks/1", "DELETE"], ["/auth/me", "GET"]] as const) {
        const preflight = yield* call(base, "OPTIONS", path, undefined, {
          origin: "https://app.example",
          "access-control-request-method": method,
          "access-control-request-headers": wanted.join(",")
        })
        expect([path, method, preflight.status]).toEqual([path, method, expect.toSatisfy((s: number) => s === 204 || s === 200)])
        expect(preflight.headers["www-authenticate"]).toBeUndefined()
        expect(preflight.headers["access-control-allow-origin"]).toBeDefined()
        expect(headerList(preflight.headers["access-control-allow-methods"])).toContain(method.toLowerCase())
        expect(headerList(preflight.headers["access-control-allow-headers"])).toEqual(expect.arrayContaining(wanted))
      }
    }))

  it.scopedLive("answers, 401s included, let a browser read ETag, Link, Retry-After, WWW-Authenticate and X-Request-Id", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const exposed = ["etag", "link", "retry-after", "www-authenticate", "x-request-id"]
      const origin = { origin: "https://app.example" }
      const refused = yield* call(base, "GET", "/users/7/tasks", undefined, origin)
      expect(refused.status).toBe(401)
      const ok = yield* call(base, "GET", "/users/7/tasks", undefined, { ...origin, ...bearer(yield* signHmac(SECRET, { sub: "7" })) })
      expect(ok.status).toBe(200)
      for (const answer of [refused, ok]) {
        expect(answer.headers["access-control-allow-origin"]).toBeDefined()
        expect(headerList(answer.headers["access-control-expose-headers"])).toEqual(expect.arrayContaining(exposed))
      }
    }))
})

describe("the typed client with a token", () => {
  it.scopedLive("signs in, creates and lists with the token, and catches MissingToken, InvalidToken and Forbidden by tag", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET } })
      const anonymous = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base))
      const credentials = { email: "ann@example.com", password: "correct horse" }
      const { user_id } = yield* anonymous.auth.signup({ payload: credentials })
      const signedIn = yield* anonymous.auth.signin({ payload: credentials })
      expect(signedIn.token_type).toBe("bearer")

      const client = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base, { token: Redacted.make(signedIn.access_token) }))
      expect(yield* client.auth.me()).toEqual({ user_id, email: "ann@example.com" })
      const created = yield* client.tasks.create({ path: { user_id }, headers: {}, payload: { title: "with a token", description: null } })
      expect(created.user_id).toBe(user_id)
      expect(yield* client.tasks.list({ path: { user_id }, urlParams: {}, headers: {} })).toEqual([created])

      const list = (c: typeof client, user: UserId) => c.tasks.list({ path: { user_id: user }, urlParams: {}, headers: {} })
      const caught = (program: ReturnType<typeof list>) =>
        program.pipe(
          Effect.map(() => "succeeded"),
          Effect.catchTags({
            MissingToken: (error) => Effect.succeed(`MissingToken: ${error.message}`),
            InvalidToken: (error) => Effect.succeed(`InvalidToken: ${error.message}`),
            ExpiredToken: (error) => Effect.succeed(`ExpiredToken: ${error.message}`),
            Forbidden: (error) => Effect.succeed(`Forbidden: ${error.message}`)
          }),
          Effect.catchAll((error) => Effect.succeed(`other: ${error._tag}`))
        )
      expect(yield* caught(list(anonymous, user_id))).toMatch(/^MissingToken: /)
      const garbage = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base, { token: "not-a-jwt" }))
      expect(yield* caught(list(garbage, user_id))).toMatch(/^InvalidToken: /)
      const old = yield* signHmac(SECRET, { sub: String(user_id), exp: secondsFromNow(-300) })
      const expired = yield* Effect.provide(TaskApiClient, TaskApiClient.layer(base, { token: old }))
      expect(yield* caught(list(expired, user_id))).toMatch(/^ExpiredToken: /)
      expect(yield* caught(list(client, UserId.make(user_id + 1)))).toMatch(/^Forbidden: /)
    }))
})

describe("logs", () => {
  it.scopedLive("no line at debug level carries a token, good or bad, nor a password", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, cause, message, spans }) => {
        lines.push(JSON.stringify({ message, cause: String(cause), annotations: Object.fromEntries(annotations), spans: String(spans) }))
      })
      const jwks = yield* jwksServer
      const rsa = yield* signingKey("RS256", "rsa-1")
      jwks.keys.push(rsa.publicJwk)
      const base = yield* serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: jwks.url.href }, logLevel: LogLevel.All }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      const password = "a very secret password"
      yield* call(base, "POST", "/auth/signup", json({ email: "ann@example.com", password }), asJson)
      const signin = yield* call(base, "POST", "/auth/signin", json({ email: "ann@example.com", password }), asJson)
      yield* call(base, "POST", "/auth/signin", json({ email: "ann@example.com", password: `${password}!` }), asJson)
      const issued = asAccessToken(signin).access_token
      const unknownKey = yield* signingKey("RS256", "rsa-unknown")
      const tokens = [
        issued,
        yield* signHmac(SECRET, { sub: "7" }),
        yield* signHmac("someone-elses-secret-that-is-long-enough!!", { sub: "7" }),
        yield* signHmac(SECRET, { sub: "7", exp: secondsFromNow(-300) }),
        yield* signWith(rsa, { sub: "7" }),
        yield* signWith(unknownKey, { sub: "7" }),
        "garbage-token-value"
      ]
      for (const token of tokens) {
        for (const path of ["/users/7/tasks", "/users/8/tasks", "/auth/me"]) {
          yield* call(base, "GET", path, undefined, { ...bearer(token), "x-request-id": "logged" })
        }
      }
      // The requests were logged, so the capture did see them.
      expect(lines.filter((line) => line.includes("\"logged\"")).length).toBeGreaterThanOrEqual(tokens.length * 3)
      const all = lines.join("\n")
      expect(all).not.toContain(password)
      expect(all).not.toContain(SECRET)
      for (const token of tokens) {
        // A token's signature (or all of it, when it is not a JWT) is what a thief would need.
        const secretPart = token.split(".").at(-1)!
        expect(all).not.toContain(secretPart)
        expect(all).not.toContain(token.split(".").slice(0, 2).join("."))
      }
    }))
})
