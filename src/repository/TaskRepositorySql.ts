import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { Task, type TaskId, type UserId } from "../domain/index.ts"
import { decoder } from "../schema/Compile.ts"
import { batcher } from "./Batch.ts"
import { type CreateAnswer, type CreateKey, runCreates, TASK_ID_SEQUENCE } from "./SqlCreate.ts"
import { type ListKey, PAGE_SIZE, runLists, toTaskList } from "./SqlList.ts"
import { runRemove, runUpdates, type UpdateAnswer, type UpdateKey } from "./SqlUpdate.ts"
import { type CreateOutcome, satisfies, TaskRepository, type UpdateOutcome } from "./TaskRepository.ts"

/**
 * Rows arrive already typed by node-postgres: `integer` as number, `timestamptz` as
 * Date. They are checked against the type side of `Task`, so nothing unchecked leaves
 * the repository.
 */
const decodeTasks = decoder(Schema.Array(Schema.typeSchema(Task)))
const decodeCount = decoder(Schema.Array(Schema.Struct({ count: Schema.Number })))

/**
 * The reads of one turn: one index lookup per (owner, id), as a `LATERAL` subquery that
 * cannot be flattened (`LIMIT 1`). Written as `(user_id, id) IN (unnest(...))`, the plan a
 * connection cached while the table was small (a hash join over a scan of all tasks) was kept
 * as the table grew: a benchmark's updates fell to half their speed right after its creates.
 * `test/statement-plans.test.ts` reads the plans.
 */
export const getStatement = `
  SELECT task.* FROM unnest($1::int[], $2::int[]) AS wanted (user_id, id)
  CROSS JOIN LATERAL (
    SELECT id, title, description, completed, user_id, created_at, updated_at FROM tasks
    WHERE tasks.id = wanted.id AND tasks.user_id = wanted.user_id LIMIT 1
  ) AS task`

/** Answers each (owner, id) lookup of a batch from its rows: a row of another owner is absent. */
const answerById = (tasks: ReadonlyArray<Task>) => {
  const byId = new Map(tasks.map((task) => [task.id, task]))
  return (key: { readonly owner: UserId; readonly id: TaskId }): Option.Option<Task> => {
    const task = byId.get(key.id)
    return task !== undefined && task.user_id === key.owner ? Option.some(task) : Option.none()
  }
}

/**
 * A create still `Skipped` after this many runs alone is answered `KeyInUse`. A second run
 * alone is enough unless a create with the same key keeps arriving in flight around it.
 */
const ALONE_ATTEMPTS = 3

/** Expired idempotency keys deleted per statement, and how often the sweep runs. */
const SWEEP_ROWS = 1000
const SWEEP_EVERY = Duration.minutes(1)

/**
 * The PostgreSQL repository. Reads, creates and updates that arrive together are answered by
 * one statement per kind (see `Batch.ts`); each statement is atomic without an explicit
 * transaction, takes its input as bound parameters only (a batch's as one JSON or array
 * parameter), and selects by owner. Every statement runs under the role's
 * `statement_timeout` (set by `pgLayer`): one that runs past it is cancelled and rolled back
 * by PostgreSQL.
 *
 * One user's trouble stays theirs: a batched write never waits for a lock held elsewhere
 * (its locked members come back `Skipped` and run alone, waiting), and a batch whose
 * statement fails is run again member by member (Batch.ts). A failing statement alone is a
 * defect: a 500, logged once with its cause.
 *
 * No span per repository call: with no tracer configured it only cost time (~10% of a GET's
 * CPU). @effect/sql still opens a span per statement, for whoever adds a tracer.
 */
export const TaskRepositorySql = Layer.scoped(
  TaskRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Once, here rather than in every create statement: the sequence they name is the one
    // `tasks.id` draws from (a name taken when the table was created gets another).
    const [sequence] = yield* sql<{ readonly named: boolean | null }>`
      SELECT pg_get_serial_sequence('tasks', 'id')::regclass = to_regclass(${TASK_ID_SEQUENCE}) AS named`
    if (sequence?.named !== true) {
      return yield* Effect.fail(
        new Error(`tasks.id does not draw from the sequence ${TASK_ID_SEQUENCE}: the create statements name it`)
      )
    }
    const runtime = yield* Effect.runtime<never>()

    const getBatched = batcher(runtime, (keys: ReadonlyArray<{ readonly owner: UserId; readonly id: TaskId }>) =>
      sql.unsafe(getStatement, [keys.map((key) => key.owner), keys.map((key) => key.id)]).pipe(
        Effect.flatMap(decodeTasks),
        Effect.map(answerById)
      ))

    const listBatched = batcher(runtime, (keys: ReadonlyArray<ListKey>) => runLists(sql, keys))

    const createBatched = batcher(
      runtime,
      (keys: ReadonlyArray<CreateKey>) =>
        Effect.map(runCreates(sql, keys, false), (answers) => {
          const byKey = new Map(keys.map((key, i) => [key, answers[i]!]))
          return (key: CreateKey): CreateAnswer => byKey.get(key) ?? { _tag: "Skipped" }
        }),
      // Two creates with one key never share a statement: the key row would be written twice.
      {
        distinct: (key) =>
          Option.isSome(key.idempotency) ? JSON.stringify([key.owner, key.idempotency.value.key]) : undefined
      }
    )

    const createAlone = (key: CreateKey, attempt: number): Effect.Effect<CreateOutcome, unknown> =>
      Effect.flatMap(runCreates(sql, [key], true), ([answer]) => {
        if (answer !== undefined && answer._tag !== "Skipped") return Effect.succeed(answer)
        if (Option.isNone(key.idempotency)) return Effect.dieMessage("A create alone was skipped")
        return attempt < ALONE_ATTEMPTS ? createAlone(key, attempt + 1) : Effect.succeed({ _tag: "KeyInUse" as const })
      })

    const updateBatched = batcher(runtime, (keys: ReadonlyArray<UpdateKey>) => runUpdates(sql, keys, false), {
      distinct: (key) => String(key.id)
    })

    const updateAlone = (key: UpdateKey): Effect.Effect<UpdateOutcome, unknown> =>
      Effect.map(runUpdates(sql, [key], true), (answer): UpdateOutcome => {
        const outcome: UpdateAnswer = answer(key)
        return outcome._tag === "Skipped" ? { _tag: "NotFound" } : outcome
      })

    /**
     * Keys older than 24 h are free again whether deleted or not (a create takes an expired
     * row over); this only keeps the table small: at most SWEEP_ROWS rows per statement,
     * repeated while it finds that many, then once every SWEEP_EVERY.
     */
    const sweepOnce = sql`WITH expired AS (
          SELECT user_id, key FROM idempotency_keys WHERE stored_at <= now() - interval '24 hours'
          ORDER BY stored_at LIMIT ${SWEEP_ROWS}
        ), deleted AS (
          DELETE FROM idempotency_keys USING expired
          WHERE idempotency_keys.user_id = expired.user_id AND idempotency_keys.key = expired.key RETURNING 1
        )
        SELECT count(*)::int AS count FROM deleted`.pipe(
      Effect.flatMap(decodeCount),
      Effect.map(([row]) => row?.count ?? 0)
    )
    const sweep = sweepOnce.pipe(
      Effect.repeat({ while: (deleted) => deleted === SWEEP_ROWS }),
      Effect.catchAllCause((cause) => Effect.logWarning("Could not delete expired idempotency keys", cause)),
      Effect.repeat(Schedule.spaced(SWEEP_EVERY))
    )
    yield* Effect.forkScoped(sweep)

    return TaskRepository.of({
      list: (owner, query) =>
        listBatched({
          owner,
          completed: query.completed,
          after: query.after,
          fetch: Option.getOrElse(query.limit, () => PAGE_SIZE) + 1
        }).pipe(
          Effect.flatMap((fetched) => toTaskList(sql, owner, query, fetched)),
          Effect.orDie
        ),
      get: (owner, id) => getBatched({ owner, id }).pipe(Effect.orDie),
      create: (owner, input, idempotency) => {
        const key: CreateKey = { owner, input, idempotency }
        return createBatched(key).pipe(
          Effect.flatMap((answer) => answer._tag === "Skipped" ? createAlone(key, 1) : Effect.succeed(answer)),
          Effect.orDie
        )
      },
      update: (owner, id, patch, precondition) => {
        // An empty patch changes nothing, so reading is enough, precondition or not.
        if (Object.keys(patch).length === 0) {
          return getBatched({ owner, id }).pipe(
            Effect.map(Option.match({
              onNone: (): UpdateOutcome => ({ _tag: "NotFound" }),
              onSome: (task): UpdateOutcome =>
                satisfies(task, precondition) ? { _tag: "Updated", task } : { _tag: "PreconditionFailed" }
            })),
            Effect.orDie
          )
        }
        const key: UpdateKey = { owner, id, patch, precondition }
        return updateBatched(key).pipe(
          Effect.flatMap((answer) => answer._tag === "Skipped" ? updateAlone(key) : Effect.succeed(answer)),
          Effect.orDie
        )
      },
      remove: (owner, id, precondition) => runRemove(sql, owner, id, precondition).pipe(Effect.orDie),
      ping: Effect.asVoid(sql`SELECT 1`)
    })
  })
)
