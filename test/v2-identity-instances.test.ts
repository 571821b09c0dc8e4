import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer } from "effect"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import { AccountRepositorySql } from "../src/identity/AccountRepositorySql.ts"
import { call, json, serve } from "./support/http.ts"
import { SECRET } from "./support/identityHttp.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/**
 * CONTRACT "Persistence and concurrency": several server processes run against one database at
 * once, and accounts' 429 holds "across all instances". Instances of a deployment start
 * together (replicas, a rolling restart), so they must also be able to *start* together.
 *
 * Found by this test (fixed in src/database/Database.ts): every pool runs `ALTER ROLE <role> IN
 * DATABASE <db> SET statement_timeout = …` when it starts; two of them at once on one database
 * made PostgreSQL fail one with `tuple concurrently updated` (XX000). They now take turns under
 * an advisory lock.
 */

const options = { poolSize: 2, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) }

describe("service instances starting together on one database", () => {
  it.scopedLive("two pools opening at once both start", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      yield* Layer.build(MigratorLive.pipe(Layer.provide(pgLayer(url, options)), Layer.provide(NodeContext.layer), Layer.orDie))
      const failures: Array<string> = []
      for (let round = 0; round < 10; round++) {
        const started = yield* Effect.all(
          Array.from({ length: 3 }, () => Effect.exit(Effect.scoped(Layer.build(pgLayer(url, options))))),
          { concurrency: "unbounded" }
        )
        for (const exit of started) {
          if (Exit.isFailure(exit)) failures.push(`round ${round}: ${String(exit.cause).split("\n")[0]}`)
        }
      }
      expect(failures).toEqual([])
    }), { timeout: 60_000 })

  it.scopedLive("two instances with PostgreSQL accounts started at once both serve sign-ups", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      yield* Layer.build(MigratorLive.pipe(Layer.provide(pgLayer(url, options)), Layer.provide(NodeContext.layer), Layer.orDie))
      const accounts = AccountRepositorySql.pipe(Layer.provide(pgLayer(url, options)), Layer.provide(NodeContext.layer), Layer.orDie)
      const [a, b] = yield* Effect.all([serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET }, accounts }), serve(undefined, { auth: { AUTH_JWT_SECRET: SECRET }, accounts })], { concurrency: "unbounded" })
      for (const [base, email] of [[a, "a@example.com"], [b, "b@example.com"]] as const) {
        const answer = yield* call(base, "POST", "/auth/signup", json({ email, password: "correct horse" }), { "content-type": "application/json" })
        expect([email, answer.status]).toEqual([email, 201])
      }
    }), { timeout: 60_000 })
})
