import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Option, Redacted } from "effect"
import { AppConfig } from "../src/AppConfig.ts"
import { AuthConfig } from "../src/identity/AuthConfig.ts"

const load = (env: Record<string, string>) =>
  Effect.either(Effect.withConfigProvider(AuthConfig, ConfigProvider.fromMap(new Map(Object.entries(env)))))

/** The one line `exitOnInvalidConfig` would print. */
const errorLine = (env: Record<string, string>) =>
  Effect.map(load(env), (result) => (Either.isLeft(result) ? String(result.left) : "valid"))

const SECRET = "s".repeat(32)

describe("AuthConfig", () => {
  it.effect("open by default, with the contract's defaults", () =>
    Effect.gen(function*() {
      const config = Either.getOrThrow(yield* load({}))
      expect(config).toMatchObject({ mode: "open", userClaim: "sub", mapSubjects: false, hashConcurrency: 2 })
      expect(Duration.toSeconds(config.tokenTtl)).toBe(86_400)
    }))

  it.effect("mode: secret, key set, both", () =>
    Effect.gen(function*() {
      const secret = Either.getOrThrow(yield* load({ AUTH_JWT_SECRET: SECRET }))
      expect(secret.mode).toBe("secret")
      expect(Option.map(secret.secret, Redacted.value)).toEqual(Option.some(SECRET))
      // Never printed: the value is redacted.
      expect(String(secret.secret)).not.toContain(SECRET)
      const keySet = Either.getOrThrow(yield* load({ AUTH_JWKS_URL: "https://idp.example/.well-known/jwks.json" }))
      expect(keySet.mode).toBe("keySet")
      expect(Option.map(keySet.jwksUrl, String)).toEqual(Option.some("https://idp.example/.well-known/jwks.json"))
      const both = Either.getOrThrow(
        yield* load({
          AUTH_JWT_SECRET: SECRET,
          AUTH_JWKS_URL: "http://127.0.0.1:9/jwks",
          AUTH_ISSUER: "https://idp.example",
          AUTH_AUDIENCE: "tasks",
          AUTH_USER_CLAIM: "uid",
          AUTH_MAP_SUBJECTS: "true",
          AUTH_TOKEN_TTL: "15 minutes",
          AUTH_HASH_CONCURRENCY: "4"
        })
      )
      expect(both).toMatchObject({
        mode: "both",
        issuer: Option.some("https://idp.example"),
        audience: Option.some("tasks"),
        userClaim: "uid",
        mapSubjects: true,
        hashConcurrency: 4
      })
      expect(Duration.toSeconds(both.tokenTtl)).toBe(900)
      // A 32-byte secret may be fewer characters: bytes are counted, in UTF-8.
      expect(Either.isRight(yield* load({ AUTH_JWT_SECRET: "é".repeat(16) }))).toBe(true)
    }))

  it.effect("invalid settings fail with one sentence that names the variable and never the secret", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ AUTH_JWT_SECRET: "short-secret" }, "AUTH_JWT_SECRET"],
        [{ AUTH_JWT_SECRET: "" }, "AUTH_JWT_SECRET"],
        [{ AUTH_JWKS_URL: "ftp://idp.example/jwks" }, "AUTH_JWKS_URL"],
        [{ AUTH_JWKS_URL: "file:///etc/passwd" }, "AUTH_JWKS_URL"],
        [{ AUTH_JWKS_URL: "not a url" }, "AUTH_JWKS_URL"],
        [{ AUTH_ISSUER: "https://idp.example" }, "AUTH_ISSUER is set but neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is"],
        [{ AUTH_AUDIENCE: "tasks" }, "AUTH_AUDIENCE is set but neither"],
        [{ AUTH_USER_CLAIM: "uid" }, "AUTH_USER_CLAIM is set but neither"],
        [{ AUTH_MAP_SUBJECTS: "true" }, "AUTH_MAP_SUBJECTS is set but neither"],
        [{ AUTH_AUDIENCE: "tasks", AUTH_MAP_SUBJECTS: "true" }, "AUTH_AUDIENCE, AUTH_MAP_SUBJECTS are set"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: "  " }, "AUTH_ISSUER"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_USER_CLAIM: "email" }, "AUTH_USER_CLAIM"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_MAP_SUBJECTS: "maybe" }, "AUTH_MAP_SUBJECTS"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_TOKEN_TTL: "0 seconds" }, "AUTH_TOKEN_TTL"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_TOKEN_TTL: "1500 millis" }, "AUTH_TOKEN_TTL"],
        [{ AUTH_JWT_SECRET: SECRET, AUTH_HASH_CONCURRENCY: "0" }, "AUTH_HASH_CONCURRENCY"]
      ]
      for (const [env, expected] of cases) {
        const line = yield* errorLine(env)
        expect([env, line.includes(expected)]).toEqual([env, true])
        expect(line).not.toContain("\n")
        expect(line).not.toContain("short-secret")
      }
    }))

  it.effect("is part of AppConfig, so an invalid value stops start-up with the others", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Effect.withConfigProvider(AppConfig, ConfigProvider.fromMap(new Map([["AUTH_AUDIENCE", "tasks"]])))
      )
      expect(Either.isLeft(result) && String(result.left)).toContain("AUTH_AUDIENCE")
    }))
})
