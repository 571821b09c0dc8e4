import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, type Either, Layer, Option, type ParseResult, Schema } from "effect"
import { type CreateTask, Task, type TaskId, type UpdateTask, type UserId } from "../domain/index.ts"
import { decoder } from "../schema/Compile.ts"
import { batcher } from "./Batch.ts"
import { TaskRepository } from "./TaskRepository.ts"

/**
 * Rows arrive already typed by node-postgres: `integer` as number, `timestamptz` as
 * Date. They are checked against the type side of `Task`, so nothing unchecked leaves
 * the repository.
 */
const decodeTasks = decoder(Schema.Array(Schema.typeSchema(Task)))

const decodeDeleted = decoder(Schema.Array(Schema.Struct({ id: Schema.Number })))

/**
 * A value as JSON in an SQL string literal. The `E'…'` form with quotes and backslashes
 * doubled means the same whatever `standard_conforming_strings` says, and JSON text has no
 * raw control characters.
 */
const jsonLiteral = (value: unknown): string => `E'${JSON.stringify(value).replace(/[\\']/g, "$&$&")}'`

/** An id written into SQL text: an integer, or the write is a defect. */
const integer = (id: number): string => {
  if (!Number.isSafeInteger(id)) throw new Error(`Not an integer id: ${id}`)
  return String(id)
}

const contentKey = (owner: UserId, title: string, description: string | null): string =>
  JSON.stringify([owner, title, description])

/** Answers each (owner, id) lookup of a batch from its rows: a row of another owner is absent. */
const answerById = (tasks: ReadonlyArray<Task>) => {
  const byId = new Map(tasks.map((task) => [task.id, task]))
  return (key: { readonly owner: UserId; readonly id: TaskId }): Option.Option<Task> => {
    const task = byId.get(key.id)
    return task !== undefined && task.user_id === key.owner ? Option.some(task) : Option.none()
  }
}

/**
 * The PostgreSQL repository. Reads, creates and updates that arrive together are answered
 * by one statement per kind (see `Batch.ts`); each is a single statement, so it is atomic
 * without an explicit transaction, and every read, update and delete selects by owner.
 * The owner row of a first task is created by a CTE of the same INSERT. A failing
 * statement is a defect: a 500, logged once with its cause.
 *
 * No span per repository call: with no tracer configured it only cost time (~10% of a GET's
 * CPU). @effect/sql still opens a span per statement, for whoever adds a tracer.
 */
export const makeTaskRepositorySql = (options: { readonly statementTimeout: Duration.Duration }) =>
  Layer.effect(
    TaskRepository,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      /**
       * Writes go to PostgreSQL as one simple-protocol message: `SET LOCAL statement_timeout`,
       * then the statement. PostgreSQL runs a message of several statements as one implicit
       * transaction, so the timeout holds for this write alone, and a write that cannot finish
       * in time (a lock held elsewhere, a slow disk) is cancelled and rolled back by PostgreSQL
       * itself: the 500 it answers leaves no trace. (The client-side `query_timeout` alone would
       * stop waiting while the statement went on and committed.) That is one round trip where
       * BEGIN, SET, the statement and COMMIT took four (measured: mixed load 4.3k → 5.9k req/s),
       * and it holds through a pooler in transaction mode (Neon's PgBouncer), where a session
       * `SET` would leak to other clients.
       *
       * The simple protocol carries no parameters: a batch's input travels as one JSON document
       * in a string literal, unpacked by `json_to_recordset`; ids are checked integers. So a
       * write that fails is logged by PostgreSQL (`log_min_error_statement`) with the titles
       * and descriptions of its batch, where a bound parameter would not be. Two more limits:
       * inside an explicit transaction the `SET LOCAL` would hold to its end (no write runs in
       * one), and the results are taken by position, which a client-wide result transform
       * (`transformResultNames`, not used here) would break.
       */
      const timeoutMs = Math.round(Duration.toMillis(options.statementTimeout))
      const write = <A>(statement: string, decodeRows: (rows: unknown) => Either.Either<A, ParseResult.ParseError>) =>
        sql.unsafe(`SET LOCAL statement_timeout = ${timeoutMs}; ${statement}`).pipe(
          // Two results: the SET's (no rows), then the statement's.
          Effect.flatMap((results) => decodeRows(results[1]))
        )

      const runtime = yield* Effect.runtime<never>()
      const getBatched = batcher(runtime, (keys: ReadonlyArray<{ readonly owner: UserId; readonly id: TaskId }>) =>
        sql`SELECT id, title, description, completed, user_id, created_at, updated_at
            FROM tasks WHERE (user_id, id) IN (SELECT * FROM unnest(${keys.map((key) => key.owner)}::int[], ${keys.map((key) => key.id)}::int[]))`.pipe(
          Effect.flatMap(decodeTasks),
          Effect.map(answerById)
        ))

      const listBatched = batcher(runtime, (owners: ReadonlyArray<UserId>) =>
        sql`SELECT task.id, task.title, task.description, task.completed, task.user_id, task.created_at, task.updated_at
            FROM unnest(${[...new Set(owners)]}::int[]) AS owner (id)
            CROSS JOIN LATERAL (SELECT * FROM tasks WHERE tasks.user_id = owner.id ORDER BY tasks.id) AS task
            ORDER BY task.user_id, task.id`.pipe(
          Effect.flatMap(decodeTasks),
          Effect.map((tasks) => {
            const byOwner = new Map<UserId, Array<Task>>()
            for (const task of tasks) {
              const owned = byOwner.get(task.user_id)
              if (owned === undefined) byOwner.set(task.user_id, [task])
              else owned.push(task)
            }
            return (owner: UserId): ReadonlyArray<Task> => byOwner.get(owner) ?? []
          })
        ))

      /**
       * Creates are one INSERT per batch: atomic as a whole, so a failure fails every create
       * in it and leaves none behind. The owners are inserted in id order, so concurrent
       * batches (of this process or another) always take their locks in the same order.
       * RETURNING order is not promised by PostgreSQL, so rows go back to their requests by
       * content; two identical creates are interchangeable.
       */
      const createBatched = batcher(runtime, (keys: ReadonlyArray<{ readonly owner: UserId; readonly input: CreateTask }>) =>
        write(`WITH input AS (
              SELECT * FROM json_to_recordset(${
          jsonLiteral(keys.map((key, position) => ({
            position,
            user_id: key.owner,
            title: key.input.title,
            description: key.input.description
          })))
        }) AS input (position int, user_id int, title varchar, description varchar)
            ), owners AS (
              INSERT INTO users (id) SELECT DISTINCT user_id FROM input ORDER BY user_id ON CONFLICT (id) DO NOTHING
            )
            INSERT INTO tasks (user_id, title, description)
            SELECT user_id, title, description FROM input ORDER BY position
            RETURNING id, title, description, completed, user_id, created_at, updated_at`, decodeTasks).pipe(
          Effect.map((tasks) => {
            const byContent = new Map<string, Array<Task>>()
            for (const task of tasks) {
              const content = contentKey(task.user_id, task.title, task.description)
              const same = byContent.get(content)
              if (same === undefined) byContent.set(content, [task])
              else same.push(task)
            }
            return (key: { readonly owner: UserId; readonly input: CreateTask }): Task => {
              const task = byContent.get(contentKey(key.owner, key.input.title, key.input.description))?.shift()
              if (task === undefined) throw new Error("A created task is missing from RETURNING")
              return task
            }
          })
        ))

      /**
       * Updates are one UPDATE per batch, at most one per task (a second update of the same
       * task goes in the next batch, one turn later; the row lock orders the two). The rows
       * are locked in id order before any is changed, so concurrent batches, of this process
       * or another, cannot deadlock; each row is changed under its lock, so concurrent
       * updates of one task apply one after the other, whole.
       */
      const updateBatched = batcher(
        runtime,
        (keys: ReadonlyArray<{ readonly owner: UserId; readonly id: TaskId; readonly patch: UpdateTask }>) =>
          write(`WITH input AS (
                SELECT * FROM json_to_recordset(${
            jsonLiteral(keys.map((key) => ({
              user_id: key.owner,
              id: key.id,
              set_title: key.patch.title !== undefined,
              title: key.patch.title ?? null,
              set_description: key.patch.description !== undefined,
              description: key.patch.description ?? null,
              set_completed: key.patch.completed !== undefined,
              completed: key.patch.completed ?? null
            })))
          }) AS input (user_id int, id int, set_title bool, title varchar, set_description bool, description varchar,
                       set_completed bool, completed bool)
              ), locked AS (
                SELECT tasks.id FROM tasks JOIN input USING (user_id, id) ORDER BY tasks.id FOR UPDATE OF tasks
              )
              UPDATE tasks SET
                title = CASE WHEN input.set_title THEN input.title ELSE tasks.title END,
                description = CASE WHEN input.set_description THEN input.description ELSE tasks.description END,
                completed = CASE WHEN input.set_completed THEN input.completed ELSE tasks.completed END
              FROM input, locked
              WHERE tasks.id = locked.id AND tasks.user_id = input.user_id AND tasks.id = input.id
              RETURNING tasks.id, tasks.title, tasks.description, tasks.completed, tasks.user_id,
                        tasks.created_at, tasks.updated_at`, decodeTasks).pipe(
            Effect.map(answerById)
          ),
        { distinct: (key) => String(key.id) }
      )

      return TaskRepository.of({
        list: (owner) => listBatched(owner).pipe(Effect.orDie),
        get: (owner, id) => getBatched({ owner, id }).pipe(Effect.orDie),
        create: (owner, input) => createBatched({ owner, input }).pipe(Effect.orDie),
        update: (owner, id, patch) => {
          if (Object.keys(patch).length === 0) return getBatched({ owner, id }).pipe(Effect.orDie)
          return updateBatched({ owner, id, patch }).pipe(Effect.orDie)
        },
        remove: (owner, id) =>
          Effect.suspend(() =>
            write(`DELETE FROM tasks WHERE user_id = ${integer(owner)} AND id = ${integer(id)} RETURNING id`, decodeDeleted)
          ).pipe(
            Effect.map((rows) => rows.length > 0),
            Effect.orDie
          ),
        ping: Effect.asVoid(sql`SELECT 1`)
      })
    })
  )

/** The repository with the default 5-second statement timeout (tests use it). */
export const TaskRepositorySql = makeTaskRepositorySql({ statementTimeout: Duration.seconds(5) })
