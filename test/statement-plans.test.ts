import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import * as Create from "../src/repository/SqlCreate.ts"
import { listStatement } from "../src/repository/SqlList.ts"
import * as Update from "../src/repository/SqlUpdate.ts"
import { getStatement, TaskRepositorySql } from "../src/repository/TaskRepositorySql.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { pgRepositoryOn } from "./support/repositories.ts"

/**
 * Issue 13: what a statement costs PostgreSQL does not grow with the tables, whatever their
 * size when a connection planned it. Statements are prepared once per connection
 * (`src/database/Prepared.ts`), and PostgreSQL soon settles on a generic plan, kept until the
 * table's statistics change. Written as joins of the input with `tasks`, the reads and the
 * updates were planned, on a table of 2,000 analyzed rows, as hash joins over a scan of all
 * of it; in a benchmark the table then grew 30-fold in twelve seconds of creates and the
 * next updates, still on those plans, ran at half speed. Each statement is read here as the
 * generic plan of a prepared statement on such a table; none may scan `tasks` or `users`.
 *
 * And a keyed create costs the same however many keys are stored (they are kept 24 hours):
 * written as a join, PostgreSQL hashed the whole idempotency_keys table on every statement
 * (create-idem fell to 0.3x create as keys accumulated). Read with 20,000 keys stored and not
 * analyzed (a fresh table, as in production's first hours).
 */

const Plan = Schema.Array(Schema.Struct({ "QUERY PLAN": Schema.String }))

const planOf = (sql: SqlClient.SqlClient, text: string, params: ReadonlyArray<unknown> = []) =>
  sql.unsafe(text, params).pipe(
    Effect.flatMap(Schema.decodeUnknown(Plan)),
    Effect.map((rows) => rows.map((row) => row["QUERY PLAN"]).join("\n"))
  )

/**
 * The scans of a plan that read a whole table: a sequential scan, or an index scan without an
 * index condition (an index read from end to end), of tasks, users or idempotency_keys.
 */
const wholeTableScans = (plan: string): ReadonlyArray<string> => {
  const lines = plan.split("\n")
  return lines.filter((line, i) =>
    /Seq Scan on (tasks|users|idempotency_keys)\b/.test(line) ||
    (/Scan using \S+ on (tasks|users|idempotency_keys)\b/.test(line) && !(lines[i + 1] ?? "").includes("Index Cond"))
  ).map((line) => line.trim())
}

const input = JSON.stringify(Array.from({ length: 4 }, (_, i) => ({
  position: i, user_id: 1, title: "t", description: null, key: `probe-${i}`, fingerprint: "f"
})))

/**
 * The statements whose plans are read, with the arguments of a generic EXECUTE (the values do
 * not matter) and the index each must reach its rows by.
 */
const statements = {
  get: { text: getStatement, args: "NULL, NULL", index: "tasks_" },
  list: { text: listStatement, args: "NULL, NULL, NULL, NULL", index: "tasks_user_id_id_idx" },
  "create (batch)": { text: Create.batchStatement, args: "NULL", index: "users_pkey" },
  "create (alone)": { text: Create.aloneStatement, args: "NULL", index: "idempotency_keys_pkey" },
  "create without keys (batch)": { text: Create.plainBatchStatement, args: "NULL", index: "users_pkey" },
  // Alone, a create without a key reads no table: the foreign key's check locks its owner.
  "create without keys (alone)": { text: Create.plainAloneStatement, args: "NULL", index: undefined },
  "update (batch)": { text: Update.batchStatement, args: "NULL", index: "tasks_" },
  "update (alone)": { text: Update.aloneStatement, args: "NULL", index: "tasks_" },
  remove: { text: Update.removeStatement, args: "NULL, NULL, NULL, NULL", index: "tasks_" }
}

describe("statement plans (postgres)", () => {
  it.scopedLive("no statement scans tasks or users, in the generic plan made on tables of 2,000 rows", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      // One connection: the plan cache mode and the prepared statements are the session's.
      const sql = Context.get(yield* Layer.build(pgRepositoryOn(url, { poolSize: 1 })), SqlClient.SqlClient)
      yield* sql`INSERT INTO users (id) SELECT generate_series(1, 2000)`
      yield* sql`INSERT INTO tasks (user_id, title, description) SELECT n % 100 + 1, 'task ' || n, 'd' FROM generate_series(1, 2000) AS n`
      yield* sql`ANALYZE users`
      yield* sql`ANALYZE tasks`
      yield* sql`SET plan_cache_mode = force_generic_plan`
      let n = 0
      for (const [name, statement] of Object.entries(statements)) {
        n++
        yield* sql.unsafe(`PREPARE probe_${n} AS ${statement.text}`)
        const plan = yield* planOf(sql, `EXPLAIN EXECUTE probe_${n}(${statement.args})`)
        expect({ name, scans: wholeTableScans(plan) }).toEqual({ name, scans: [] })
        if (statement.index === undefined) expect(plan, name).not.toMatch(/Scan (using \S+ )?on (tasks|users)\b/)
        else expect(plan, name).toMatch(new RegExp(`Index (Only )?Scan using ${statement.index}`))
      }
    }).pipe(Effect.orDie))

  it.scopedLive("idempotency keys are read by primary key, never by a scan of the table", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const sql = Context.get(yield* Layer.build(pgRepositoryOn(url)), SqlClient.SqlClient)
      yield* sql`INSERT INTO idempotency_keys (user_id, key, fingerprint, task_id, title, created_at)
        SELECT n % 100 + 1, 'stored-' || n, 'f', n, 't', now() FROM generate_series(1, 20000) AS n`
      for (const statement of [Create.batchStatement, Create.aloneStatement]) {
        const plan = yield* planOf(sql, `EXPLAIN ${statement}`, [input])
        expect(plan).toContain("Index Scan using idempotency_keys_pkey")
        expect(plan).not.toMatch(/Seq Scan on idempotency_keys/)
      }
    }).pipe(Effect.orDie))

  it.scopedLive("the repository refuses to start when tasks.id draws from a sequence the create statements do not name", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const sql = Context.get(yield* Layer.build(pgRepositoryOn(url)), SqlClient.SqlClient)
      yield* sql.unsafe(`ALTER SEQUENCE ${Create.TASK_ID_SEQUENCE} RENAME TO tasks_id_elsewhere`)
      const failure = yield* Layer.build(TaskRepositorySql.pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, sql)))).pipe(
        Effect.flip
      )
      expect(String(failure)).toContain(`does not draw from the sequence ${Create.TASK_ID_SEQUENCE}`)
    }).pipe(Effect.orDie))
})
