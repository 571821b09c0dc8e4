import { SqlClient } from "@effect/sql"
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import { Task } from "../domain/index.ts"
import { TaskRepository } from "./TaskRepository.ts"

/**
 * Rows arrive already typed by node-postgres: `integer` as number, `timestamptz` as
 * Date. They are checked against the type side of `Task`, so nothing unchecked leaves
 * the repository.
 */
const TaskRow = Schema.typeSchema(Task)
const decodeTask = Schema.decodeUnknown(TaskRow)
const decodeTasks = Schema.decodeUnknown(Schema.Array(TaskRow))

/**
 * The PostgreSQL repository. Every statement is a single statement, so each is atomic
 * without an explicit transaction: the owner row of a first task is created by a CTE
 * in the same INSERT, and a partial update is one UPDATE whose row lock makes
 * concurrent updates of one task apply one after the other.
 */
export const TaskRepositorySql = Layer.effect(
  TaskRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const one = <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) =>
      Effect.flatMap(rows, (found) =>
        Option.match(Arr.head(found), {
          onNone: () => Effect.succeed(Option.none<Task>()),
          onSome: (row) => Effect.map(decodeTask(row), Option.some)
        }))

    return TaskRepository.of({
      list: (owner) =>
        sql`SELECT id, title, description, completed, user_id, created_at, updated_at
            FROM tasks WHERE user_id = ${owner} ORDER BY id`.pipe(
          Effect.flatMap(decodeTasks),
          Effect.orDie,
          Effect.withSpan("TaskRepository.list")
        ),
      get: (owner, id) =>
        one(
          sql`SELECT id, title, description, completed, user_id, created_at, updated_at
              FROM tasks WHERE user_id = ${owner} AND id = ${id}`
        ).pipe(Effect.orDie, Effect.withSpan("TaskRepository.get")),
      create: (owner, input) =>
        sql`WITH owner AS (INSERT INTO users (id) VALUES (${owner}) ON CONFLICT (id) DO NOTHING)
            INSERT INTO tasks (user_id, title, description) VALUES (${owner}, ${input.title}, ${input.description})
            RETURNING id, title, description, completed, user_id, created_at, updated_at`.pipe(
          Effect.flatMap((rows) => decodeTask(rows[0])),
          Effect.orDie,
          Effect.withSpan("TaskRepository.create")
        ),
      update: (owner, id, patch) => {
        const fields = Object.keys(patch).length
        if (fields === 0) {
          return one(
            sql`SELECT id, title, description, completed, user_id, created_at, updated_at
                FROM tasks WHERE user_id = ${owner} AND id = ${id}`
          ).pipe(Effect.orDie, Effect.withSpan("TaskRepository.update"))
        }
        const setsDescription = patch.description !== undefined
        return one(
          sql`UPDATE tasks SET
                title = COALESCE(${patch.title ?? null}, title),
                description = CASE WHEN ${setsDescription} THEN ${patch.description ?? null} ELSE description END,
                completed = COALESCE(${patch.completed ?? null}, completed)
              WHERE user_id = ${owner} AND id = ${id}
              RETURNING id, title, description, completed, user_id, created_at, updated_at`
        ).pipe(Effect.orDie, Effect.withSpan("TaskRepository.update"))
      },
      remove: (owner, id) =>
        sql`DELETE FROM tasks WHERE user_id = ${owner} AND id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie,
          Effect.withSpan("TaskRepository.remove")
        ),
      ping: Effect.asVoid(sql`SELECT 1`)
    })
  })
)
