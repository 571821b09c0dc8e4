import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import { MAX_FAILURES } from "../src/identity/AccountRepository.ts"
import { AccountRepositorySql } from "../src/identity/AccountRepositorySql.ts"
import { Accounts, AccountsLive } from "../src/identity/Accounts.ts"
import { SignInPayload, SignUpPayload } from "../src/identity/Credentials.ts"
import { makePasswords, Passwords } from "../src/identity/Passwords.ts"
import { makeTokenIssuer, TokenIssuer } from "../src/identity/TokenIssuer.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/** Two service instances' account logic, each with its own pool, on one database. */
const twoInstances = Effect.gen(function*() {
  const url = yield* freshDatabaseUrl
  const instance = (migrate: boolean) =>
    Layer.build(
      AccountsLive.pipe(
        Layer.provide(AccountRepositorySql),
        Layer.provide(migrate ? MigratorLive : Layer.empty),
        Layer.provide(pgLayer(url, { poolSize: 3, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })),
        Layer.provide(NodeContext.layer),
        Layer.provide(Layer.succeed(Passwords, makePasswords(2))),
        Layer.provide(Layer.succeed(
          TokenIssuer,
          makeTokenIssuer({
            secret: Redacted.make("a-test-secret-that-is-long-enough-for-hs256!"),
            issuer: Option.none(),
            audience: Option.none(),
            userClaim: "sub",
            ttl: Duration.hours(1)
          })
        ))
      )
    ).pipe(Effect.map((context) => Context.get(context, Accounts)))
  const a = yield* instance(true)
  const b = yield* instance(false)
  return [a, b] as const
})

describe("Accounts on PostgreSQL, two instances", () => {
  it.scopedLive("an account made on one signs in on the other; 10 failures across both throttle both", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoInstances
      const { userId } = yield* a.signUp(Schema.decodeUnknownSync(SignUpPayload)({ email: "ann@example.com", password: "correct horse" }))
      const credentials = (password: string) => Schema.decodeUnknownSync(SignInPayload)({ email: "ANN@example.com", password })
      expect((yield* b.signIn(credentials("correct horse"))).token_type).toBe("bearer")
      for (let i = 0; i < MAX_FAILURES; i++) {
        expect((yield* Effect.flip((i % 2 === 0 ? a : b).signIn(credentials("wrong horse"))))._tag).toBe("InvalidCredentials")
      }
      for (const instance of [a, b]) {
        const refused = yield* Effect.flip(instance.signIn(credentials("correct horse")))
        expect(refused).toMatchObject({ _tag: "Throttled" })
      }
      expect(userId).toBeGreaterThan(0)
    }), { timeout: 60_000 })
})
