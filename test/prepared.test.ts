import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { pgLayer } from "../src/database/Database.ts"
import { MAX_PREPARED, statementName } from "../src/database/Prepared.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

const Prepared = Schema.Array(Schema.Struct({ statement: Schema.String }))

/** The statements prepared on the pool's one connection, after a parameterized query ran twice. */
const preparedAfterTwoRuns = (preparedStatements: boolean) =>
  Effect.gen(function*() {
    const url = yield* freshDatabaseUrl
    const context = yield* Layer.build(pgLayer(url, {
      poolSize: 1,
      connectTimeout: Duration.seconds(5),
      queryTimeout: Duration.seconds(5),
      preparedStatements
    }))
    const sql = Context.get(context, SqlClient.SqlClient)
    for (let run = 0; run < 2; run++) yield* sql`SELECT ${run}::int + 1 AS prepared_probe`
    const rows = yield* sql`SELECT statement FROM pg_prepared_statements`
    return (yield* Schema.decodeUnknown(Prepared)(rows)).map((row) => row.statement)
  }).pipe(Effect.orDie)

describe("prepared statements (postgres)", () => {
  it.scopedLive("a statement with parameters is prepared once per connection and reused", () =>
    Effect.gen(function*() {
      const statements = yield* preparedAfterTwoRuns(true)
      // Both runs and the view's own query, each text once.
      expect(statements.filter((text) => text.includes("prepared_probe"))).toHaveLength(1)
    }))

  it.scopedLive("DATABASE_PREPARED_STATEMENTS=false: nothing is prepared (for a pooler without them)", () =>
    Effect.gen(function*() {
      expect(yield* preparedAfterTwoRuns(false)).toEqual([])
    }))

  it("names at most MAX_PREPARED texts, the same name for the same text", () => {
    const first = statementName("SELECT $1 -- test text 0")
    expect(first).toBeDefined()
    expect(statementName("SELECT $1 -- test text 0")).toBe(first)
    for (let i = 1; i <= MAX_PREPARED; i++) statementName(`SELECT $1 -- test text ${i}`)
    expect(statementName(`SELECT $1 -- test text ${MAX_PREPARED + 1}`)).toBeUndefined()
    expect(statementName("SELECT $1 -- test text 0")).toBe(first)
  })
})
