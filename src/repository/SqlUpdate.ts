import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, Schema } from "effect"
import { Task, type TaskId, type UpdateTask, type UserId } from "../domain/index.ts"
import { decoder } from "../schema/Compile.ts"
import type { Precondition, RemoveOutcome, UpdateOutcome } from "./TaskRepository.ts"

export interface UpdateKey {
  readonly owner: UserId
  readonly id: TaskId
  readonly patch: UpdateTask
  readonly precondition: Option.Option<Precondition>
}

/** What one update of a statement came to; `Skipped`: its row was locked elsewhere. */
export type UpdateAnswer = UpdateOutcome | { readonly _tag: "Skipped" }

const decodeTasks = decoder(Schema.Array(Schema.typeSchema(Task)))
const decodeOutcomes = decoder(Schema.Array(Schema.Struct({
  target: Schema.Number,
  outcome: Schema.Literal("updated", "failed", "skipped", "missing")
})))
const decodeRemoved = decoder(Schema.Array(Schema.Struct({
  outcome: Schema.Literal("deleted", "failed", "missing")
})))

/** The `updated_at` values a precondition accepts, as bound text; none to check for `Any`. */
const expected = (precondition: Option.Option<Precondition>) =>
  Option.isSome(precondition) && precondition.value._tag === "Versions"
    ? { check_version: true, expected: precondition.value.updatedAt.map((date) => date.toISOString()) }
    : { check_version: false, expected: [] }

/**
 * One UPDATE for a batch, at most one per task (see `distinct` in Batch.ts), with the input
 * as one bound JSON parameter. The rows are locked in id order before any is changed, so
 * concurrent statements cannot deadlock, and each row is changed under its lock, so
 * concurrent updates of one task apply one after the other, whole.
 *
 * The precondition is checked on the locked row, the latest committed version of it, in the
 * UPDATE itself: of two updates expecting the same version, the second finds the version the
 * first made and changes nothing, in one batch (impossible: one per task) or across batches
 * and processes. The answer tells each outcome apart in the same round trip: `missing` (no
 * such task of this owner), `failed` (locked, version not accepted), `skipped` (locked
 * elsewhere: a batch does not wait, `SKIP LOCKED`; the caller runs it alone, waiting).
 *
 * Rows are found by index lookups only, whatever the table's size when a connection planned
 * the statement, once `tasks` has been analyzed: each lock is a `LATERAL` lookup (a locking
 * subquery is never flattened into a join), and the UPDATE reaches its rows by `id = ANY` of
 * the locked ids. As a join of the input with `tasks`, a plan cached while the table was small
 * kept scanning all of it (`test/statement-plans.test.ts`). On a table never analyzed yet (a
 * fresh database's first minute) the UPDATE's plan still scans it, until autovacuum's first
 * ANALYZE makes PostgreSQL plan it again. Reaching the rows by `ctid` instead would lose an
 * update whose locked row version was committed after the statement's snapshot (README,
 * "Mixed, the database, low concurrency").
 */
const statement = (lock: string) => `
  WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS input (user_id int, id int, set_title bool, title varchar,
      set_description bool, description varchar, set_completed bool, completed bool, check_version bool,
      expected timestamptz[])
  ), locked AS (
    SELECT task.id, task.updated_at FROM (SELECT user_id, id FROM input ORDER BY id) AS wanted
    CROSS JOIN LATERAL (
      SELECT tasks.id, tasks.updated_at FROM tasks WHERE tasks.id = wanted.id AND tasks.user_id = wanted.user_id ${lock}
    ) AS task
  ), updated AS (
    UPDATE tasks SET
      title = CASE WHEN input.set_title THEN input.title ELSE tasks.title END,
      description = CASE WHEN input.set_description THEN input.description ELSE tasks.description END,
      completed = CASE WHEN input.set_completed THEN input.completed ELSE tasks.completed END
    FROM input, locked
    WHERE tasks.id = ANY (ARRAY(SELECT id FROM locked)) AND tasks.id = locked.id AND tasks.user_id = input.user_id
      AND tasks.id = input.id AND (NOT input.check_version OR locked.updated_at = ANY (input.expected))
    RETURNING tasks.id, tasks.title, tasks.description, tasks.completed, tasks.user_id, tasks.created_at, tasks.updated_at
  )
  SELECT input.id AS target,
    -- Evaluated in order, and only for what did not update (the rare case).
    CASE WHEN updated.id IS NOT NULL THEN 'updated'
         WHEN EXISTS (SELECT 1 FROM locked WHERE locked.id = input.id) THEN 'failed'
         -- A scalar subquery, one index lookup: an EXISTS here was planned as a hash of
         -- the whole table, built whenever an update missed.
         WHEN (SELECT true FROM tasks WHERE tasks.id = input.id AND tasks.user_id = input.user_id) THEN 'skipped'
         ELSE 'missing' END AS outcome,
    updated.id, updated.title, updated.description, updated.completed, updated.user_id, updated.created_at,
    updated.updated_at
  FROM input LEFT JOIN updated ON updated.id = input.id`

export const batchStatement = statement("FOR UPDATE SKIP LOCKED")
export const aloneStatement = statement("FOR UPDATE")

/** Runs the updates `keys` as one statement (`alone`: a single update that may wait), answered by task id. */
export const runUpdates = (sql: SqlClient.SqlClient, keys: ReadonlyArray<UpdateKey>, alone: boolean) =>
  Effect.suspend(() => {
    const input = JSON.stringify(keys.map((key) => ({
      user_id: key.owner,
      id: key.id,
      set_title: key.patch.title !== undefined,
      title: key.patch.title ?? null,
      set_description: key.patch.description !== undefined,
      description: key.patch.description ?? null,
      set_completed: key.patch.completed !== undefined,
      completed: key.patch.completed ?? null,
      ...expected(key.precondition)
    })))
    return sql.unsafe(alone ? aloneStatement : batchStatement, [input])
  }).pipe(
    Effect.flatMap((rows) =>
      Effect.flatMap(decodeOutcomes(rows), (outcomes) =>
        Effect.map(decodeTasks(rows.filter((_, i) => outcomes[i]!.outcome === "updated")), (tasks) => {
          const answers = new Map<number, UpdateAnswer>()
          let next = 0
          for (const row of outcomes) {
            answers.set(
              row.target,
              row.outcome === "updated"
                ? { _tag: "Updated", task: tasks[next++]! }
                : row.outcome === "failed"
                ? { _tag: "PreconditionFailed" }
                // Alone, a row found but not locked was deleted meanwhile.
                : row.outcome === "skipped" && !alone
                ? { _tag: "Skipped" }
                : { _tag: "NotFound" }
            )
          }
          return (key: UpdateKey): UpdateAnswer => answers.get(key.id) ?? { _tag: "NotFound" }
        }))
    )
  )

/**
 * A delete is one statement of its own (never batched): it waits for a row locked elsewhere
 * alone, and fails alone. The row is locked first, so the precondition is checked on its
 * latest version and a task deleted meanwhile is missing, not a failed precondition.
 */
export const removeStatement = `
  WITH target AS (
    SELECT id, updated_at FROM tasks WHERE user_id = $1 AND id = $2 FOR UPDATE
  ), deleted AS (
    DELETE FROM tasks USING target
    WHERE tasks.id = target.id AND (NOT $3::boolean OR target.updated_at = ANY ($4::timestamptz[]))
    RETURNING tasks.id
  )
  SELECT CASE WHEN EXISTS (SELECT 1 FROM deleted) THEN 'deleted'
              WHEN EXISTS (SELECT 1 FROM target) THEN 'failed' ELSE 'missing' END AS outcome`

export const runRemove = (
  sql: SqlClient.SqlClient,
  owner: UserId,
  id: TaskId,
  precondition: Option.Option<Precondition>
): Effect.Effect<RemoveOutcome, unknown> =>
  Effect.suspend(() => {
    const { check_version, expected: versions } = expected(precondition)
    return sql.unsafe(removeStatement, [owner, id, check_version, versions])
  }).pipe(
    Effect.flatMap(decodeRemoved),
    Effect.map(([row]) => row?.outcome === "deleted" ? "Deleted" : row?.outcome === "failed" ? "PreconditionFailed" : "NotFound")
  )
