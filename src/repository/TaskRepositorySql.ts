import * as SqlClient from "@effect/sql/SqlClient"
import { Array as Arr, Effect, Layer, Option, Schema } from "effect"
import { type CreateTask, Task, type TaskId, type UserId } from "../domain/index.ts"
import { batcher } from "./Batch.ts"
import { TaskRepository } from "./TaskRepository.ts"

/**
 * Rows arrive already typed by node-postgres: `integer` as number, `timestamptz` as
 * Date. They are checked against the type side of `Task`, so nothing unchecked leaves
 * the repository.
 */
const TaskRow = Schema.typeSchema(Task)
const decodeTask = Schema.decodeUnknown(TaskRow)
const decodeTasks = Schema.decodeUnknown(Schema.Array(TaskRow))

const contentKey = (owner: UserId, title: string, description: string | null): string =>
  JSON.stringify([owner, title, description])

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

    /**
     * A failing statement is a defect (a 500, logged with its cause). Spans name the
     * operation; they skip the call-site stack capture, which cost more than the query
     * itself on this hot path.
     */
    const bounded = (operation: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`TaskRepository.${operation}`, { captureStackTrace: false }))

    const one = <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) =>
      Effect.flatMap(rows, (found) =>
        Option.match(Arr.head(found), {
          onNone: () => Effect.succeed(Option.none<Task>()),
          onSome: (row) => Effect.map(decodeTask(row), Option.some)
        }))

    const runtime = yield* Effect.runtime<never>()
    const getBatched = batcher(runtime, (keys: ReadonlyArray<{ readonly owner: UserId; readonly id: TaskId }>) =>
      sql`SELECT id, title, description, completed, user_id, created_at, updated_at
          FROM tasks WHERE (user_id, id) IN (SELECT * FROM unnest(${keys.map((key) => key.owner)}::int[], ${keys.map((key) => key.id)}::int[]))`.pipe(
        Effect.flatMap(decodeTasks),
        Effect.map((tasks) => {
          const byId = new Map(tasks.map((task) => [task.id, task]))
          return (key: { readonly owner: UserId; readonly id: TaskId }) => {
            const task = byId.get(key.id)
            return task !== undefined && task.user_id === key.owner ? Option.some(task) : Option.none()
          }
        })
      ))

    const listBatched = batcher(runtime, (owners: ReadonlyArray<UserId>) =>
      sql`SELECT id, title, description, completed, user_id, created_at, updated_at
          FROM tasks WHERE user_id = ANY(${[...new Set(owners)]}::int[]) ORDER BY user_id, id`.pipe(
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
      sql`WITH input AS (
            SELECT * FROM unnest(
              ${keys.map((key) => key.owner)}::int[],
              ${keys.map((key) => key.input.title)}::varchar[],
              ${keys.map((key) => key.input.description)}::varchar[]
            ) WITH ORDINALITY AS input (user_id, title, description, position)
          ), owners AS (
            INSERT INTO users (id) SELECT DISTINCT user_id FROM input ORDER BY user_id ON CONFLICT (id) DO NOTHING
          )
          INSERT INTO tasks (user_id, title, description)
          SELECT user_id, title, description FROM input ORDER BY position
          RETURNING id, title, description, completed, user_id, created_at, updated_at`.pipe(
        Effect.flatMap(decodeTasks),
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

    return TaskRepository.of({
      list: (owner) => listBatched(owner).pipe(bounded("list")),
      get: (owner, id) => getBatched({ owner, id }).pipe(bounded("get")),
      create: (owner, input) => createBatched({ owner, input }).pipe(bounded("create")),
      update: (owner, id, patch) => {
        if (Object.keys(patch).length === 0) return getBatched({ owner, id }).pipe(bounded("update"))
        const setsDescription = patch.description !== undefined
        return one(
          sql`UPDATE tasks SET
                title = COALESCE(${patch.title ?? null}, title),
                description = CASE WHEN ${setsDescription} THEN ${patch.description ?? null} ELSE description END,
                completed = COALESCE(${patch.completed ?? null}, completed)
              WHERE user_id = ${owner} AND id = ${id}
              RETURNING id, title, description, completed, user_id, created_at, updated_at`
        ).pipe(bounded("update"))
      },
      remove: (owner, id) =>
        sql`DELETE FROM tasks WHERE user_id = ${owner} AND id = ${id} RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          bounded("remove")
        ),
      ping: Effect.asVoid(sql`SELECT 1`)
    })
  })
)
