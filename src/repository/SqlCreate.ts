import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option, Schema } from "effect"
import { type CreateTask, Task, type UserId } from "../domain/index.ts"
import { decoder } from "../schema/Compile.ts"
import type { CreateOutcome, Idempotency } from "./TaskRepository.ts"

export interface CreateKey {
  readonly owner: UserId
  readonly input: CreateTask
  readonly idempotency: Option.Option<Idempotency>
}

/** What one create of a statement came to; `Skipped`: it could not run without waiting. */
export type CreateAnswer = CreateOutcome | { readonly _tag: "Skipped" }

const decodeTasks = decoder(Schema.Array(Schema.typeSchema(Task)))
const decodeOutcomes = decoder(Schema.Array(Schema.Struct({
  position: Schema.Number,
  outcome: Schema.Literal("created", "replayed", "reused", "skipped")
})))

/**
 * How a create statement gets hold of the owners' `users` rows and of the idempotency keys.
 * A batch never waits for a lock held elsewhere: an owner row locked by another transaction
 * (`FOR KEY SHARE SKIP LOCKED`) or a key claimed by a create still in flight
 * (`pg_try_advisory_xact_lock`) makes its create `skipped`, and the caller runs it alone.
 * Alone, a create waits as any statement does, up to the role's `statement_timeout`.
 * Each owner row is locked by a primary-key lookup of its own (`LATERAL`), never through a join
 * the planner could turn into a scan of `users`.
 */
const batchOwners = `
  locked AS (
    SELECT owner.id FROM (SELECT DISTINCT user_id FROM input ORDER BY user_id) AS wanted
    CROSS JOIN LATERAL (SELECT id FROM users WHERE users.id = wanted.user_id FOR KEY SHARE SKIP LOCKED) AS owner
  ), available AS (
    SELECT id FROM owners UNION ALL SELECT id FROM locked
  ),`
const aloneOwners = `
  available AS (
    SELECT DISTINCT user_id AS id FROM input
  ),`
const batchKeys = `
  claimed AS (
    SELECT position FROM input
    WHERE key IS NOT NULL AND pg_try_advisory_xact_lock(hashtextextended(user_id || ':' || key, 0))
  ),`
const aloneKeys = `
  claimed AS (
    SELECT position FROM input
    WHERE key IS NOT NULL AND pg_advisory_xact_lock(hashtextextended(user_id || ':' || key, 0))::text = ''
  ),`

/**
 * The sequence `tasks.id` draws from, as PostgreSQL names an identity column's sequence. The
 * create statements name it rather than look it up (`pg_get_serial_sequence` as `nextval`'s
 * argument ran for every row; once per statement it still cost ~5% of a statement for 14
 * creates); the repository checks once, at start-up, that it is the right one
 * (`TaskRepositorySql.ts`).
 */
export const TASK_ID_SEQUENCE = "tasks_id_seq"

/**
 * The input's rows, each with the task id drawn for it and `created_at`, the transaction's
 * `now()` at the column's precision, as the column default had it; then the owners' rows,
 * inserted in id order, so concurrent statements take their locks in one order.
 */
const inputAndOwners = (columns: string) => `
  WITH input AS (
    SELECT input.*, nextval('${TASK_ID_SEQUENCE}')::int AS id, now()::timestamptz(3) AS created_at
    FROM json_to_recordset($1::json) AS input (${columns})
  ), owners AS (
    INSERT INTO users (id) SELECT DISTINCT user_id FROM input ORDER BY user_id ON CONFLICT (id) DO NOTHING RETURNING id
  ),`

/**
 * One INSERT for a batch of creates, with its idempotency keys, as one statement (atomic:
 * a key is never stored without its task, nor a keyed task without its key). The whole
 * input is one bound JSON parameter. Task ids are drawn in the input, so the key row can
 * name its task.
 *
 * A key answers from `existing` when it is live (under 24 h) and visible; otherwise the key
 * row is inserted, or an expired one taken over, and only then the task: a key row that
 * appeared meanwhile (committed after this statement's snapshot) wins the conflict, and the
 * create comes back `skipped`, to be run again, when it will see that row and replay it.
 */
const keyedStatement = (owners: string, keys: string) => `${
  inputAndOwners("position int, user_id int, title varchar, description varchar, key varchar, fingerprint text")
}
  existing AS (
    -- One primary-key lookup per keyed input: as a join, the planner hashed the whole table
    -- (a sequential scan per statement, slower as keys accumulate over their 24 hours).
    SELECT keys.* FROM input CROSS JOIN LATERAL (
      SELECT * FROM idempotency_keys AS keys
      WHERE keys.user_id = input.user_id AND keys.key = input.key AND keys.stored_at > now() - interval '24 hours'
      LIMIT 1
    ) AS keys
    WHERE input.key IS NOT NULL
  ),${owners}${keys}
  ready AS (
    SELECT input.* FROM input
    WHERE input.user_id IN (SELECT id FROM available)
      AND (input.key IS NULL OR input.position IN (SELECT position FROM claimed))
      AND NOT EXISTS (SELECT 1 FROM existing WHERE existing.user_id = input.user_id AND existing.key = input.key)
  ), keyed AS (
    INSERT INTO idempotency_keys AS keys (user_id, key, fingerprint, task_id, title, description, created_at)
    SELECT user_id, key, fingerprint, id, title, description, created_at FROM ready WHERE key IS NOT NULL
    ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, task_id = excluded.task_id,
      title = excluded.title, description = excluded.description, created_at = excluded.created_at, stored_at = now()
    WHERE keys.stored_at <= now() - interval '24 hours'
    RETURNING user_id, key
  ), created AS (
    INSERT INTO tasks (id, user_id, title, description, created_at, updated_at)
    SELECT id, user_id, title, description, created_at, created_at FROM ready
    WHERE key IS NULL OR (user_id, key) IN (SELECT user_id, key FROM keyed)
    ORDER BY position
    RETURNING id, title, description, completed, user_id, created_at, updated_at
  )
  SELECT input.position,
    CASE WHEN created.id IS NOT NULL THEN 'created'
         WHEN existing.fingerprint = input.fingerprint THEN 'replayed'
         WHEN existing.user_id IS NOT NULL THEN 'reused'
         ELSE 'skipped' END AS outcome,
    coalesce(created.id, existing.task_id) AS id,
    coalesce(created.title, existing.title) AS title,
    CASE WHEN created.id IS NOT NULL THEN created.description ELSE existing.description END AS description,
    false AS completed,
    input.user_id,
    coalesce(created.created_at, existing.created_at) AS created_at,
    coalesce(created.created_at, existing.created_at) AS updated_at
  FROM input
  LEFT JOIN created ON created.id = input.id
  LEFT JOIN existing ON existing.user_id = input.user_id AND existing.key = input.key
  ORDER BY input.position`

/**
 * The creates of a batch without any idempotency key (most of them): the same INSERT without
 * the keys' lookups, claims, upsert and joins, which PostgreSQL runs even when no key is
 * given (README, "Against version 1 on both nodes", for what each part costs).
 */
const plainStatement = (owners: string) => `${inputAndOwners("position int, user_id int, title varchar, description varchar")}${owners}
  created AS (
    INSERT INTO tasks (id, user_id, title, description, created_at, updated_at)
    SELECT id, user_id, title, description, created_at, created_at FROM input
    WHERE user_id IN (SELECT id FROM available)
    ORDER BY position
    RETURNING id, title, description, completed, user_id, created_at, updated_at
  )
  SELECT input.position, 'created' AS outcome, created.*
  FROM input JOIN created ON created.id = input.id
  ORDER BY input.position`

/** The statement texts, exported for the test that reads their plans. */
export const batchStatement = keyedStatement(batchOwners, batchKeys)
export const aloneStatement = keyedStatement(aloneOwners, aloneKeys)
export const plainBatchStatement = plainStatement(batchOwners)
export const plainAloneStatement = plainStatement(aloneOwners)

/**
 * Runs the creates `keys` as one statement (`alone`: a single create that may wait) and
 * answers each by its position; a position without a row was `skipped`. Identical creates
 * without a key are told apart by position, not content.
 */
export const runCreates = (sql: SqlClient.SqlClient, keys: ReadonlyArray<CreateKey>, alone: boolean) =>
  Effect.suspend(() => {
    const keyed = keys.some((key) => Option.isSome(key.idempotency))
    const text = keyed ? (alone ? aloneStatement : batchStatement) : (alone ? plainAloneStatement : plainBatchStatement)
    const input = JSON.stringify(keys.map((key, position) => ({
      position,
      user_id: key.owner,
      title: key.input.title,
      description: key.input.description,
      key: Option.isSome(key.idempotency) ? key.idempotency.value.key : null,
      fingerprint: Option.isSome(key.idempotency) ? key.idempotency.value.fingerprint : null
    })))
    return sql.unsafe(text, [input])
  }).pipe(
    Effect.flatMap((rows) =>
      Effect.flatMap(decodeOutcomes(rows), (outcomes) => {
        // Only created and replayed creates come with a task.
        const withTask = rows.filter((_, i) => outcomes[i]!.outcome === "created" || outcomes[i]!.outcome === "replayed")
        return Effect.map(decodeTasks(withTask), (tasks) => {
          // The statement without keys has no row for a skipped create.
          const answers: Array<CreateAnswer> = keys.map(() => ({ _tag: "Skipped" }))
          let next = 0
          for (const row of outcomes) {
            answers[row.position] = row.outcome === "created"
              ? { _tag: "Created", task: tasks[next++]! }
              : row.outcome === "replayed"
              ? { _tag: "Replayed", task: tasks[next++]! }
              : row.outcome === "reused"
              ? { _tag: "KeyReused" }
              : { _tag: "Skipped" }
          }
          return answers
        })
      })
    )
  )
