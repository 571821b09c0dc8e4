import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { aloneStatement, batchStatement } from "../src/repository/SqlCreate.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { pgRepositoryOn } from "./support/repositories.ts"

/**
 * Issue 11/13: a keyed create costs the same however many keys are stored (they are kept 24
 * hours). The create statement looks its keys up by primary key; written as a join, PostgreSQL
 * hashed the whole idempotency_keys table on every statement (create-idem fell to 0.3x create
 * in one benchmark round as keys accumulated). Read from the plans, with 20,000 keys stored
 * and not analyzed (a fresh table, as in production's first hours).
 */

const Plan = Schema.Array(Schema.Struct({ "QUERY PLAN": Schema.String }))

const input = JSON.stringify(Array.from({ length: 4 }, (_, i) => ({
  position: i, user_id: 1, title: "t", description: null, key: `probe-${i}`, fingerprint: "f"
})))

describe("create statement plans (postgres)", () => {
  it.scopedLive("idempotency keys are read by primary key, never by a scan of the table", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const sql = Context.get(yield* Layer.build(pgRepositoryOn(url)), SqlClient.SqlClient)
      yield* sql`INSERT INTO idempotency_keys (user_id, key, fingerprint, task_id, title, created_at)
        SELECT n % 100 + 1, 'stored-' || n, 'f', n, 't', now() FROM generate_series(1, 20000) AS n`
      for (const statement of [batchStatement, aloneStatement]) {
        const plan = (yield* Schema.decodeUnknown(Plan)(yield* sql.unsafe(`EXPLAIN ${statement}`, [input])))
          .map((row) => row["QUERY PLAN"]).join("\n")
        expect(plan).toContain("Index Scan using idempotency_keys_pkey")
        expect(plan).not.toMatch(/Seq Scan on idempotency_keys/)
      }
    }).pipe(Effect.orDie))
})
