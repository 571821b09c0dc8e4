import { readdir, readFile } from "node:fs/promises"
import * as path from "node:path"
import postgres from "postgres"

/** What postgres.js hands back for a task row: int4 as number, timestamptz as Date. */
export interface TaskRow {
  readonly id: number
  readonly title: string
  readonly description: string | null
  readonly completed: boolean
  readonly user_id: number
  readonly created_at: Date
  readonly updated_at: Date
}

export type Sql = postgres.Sql

// One plain statement per request, prepared, on the service's schema: what a hand-written
// server would send. (The service batches the statements of one event-loop turn instead.)
const COLUMNS = "id, title, description, completed, user_id, created_at, updated_at"
const LIST = `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 ORDER BY id`
const GET = `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2`
const CREATE =
  "WITH owner AS (INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING) " +
  `INSERT INTO tasks (user_id, title, description) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`
const UPDATE =
  "UPDATE tasks SET title = COALESCE($3, title), description = CASE WHEN $4 THEN $5 ELSE description END, " +
  `completed = COALESCE($6, completed) WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`
const DELETE = "DELETE FROM tasks WHERE user_id = $1 AND id = $2"

export const connect = (url: string, max: number): Sql =>
  postgres(url, { max, onnotice: () => undefined })

const prepared = { prepare: true } as const

export const listTasks = (sql: Sql, userId: number): Promise<ReadonlyArray<TaskRow>> =>
  sql.unsafe<Array<TaskRow>>(LIST, [userId], prepared).then((rows) => rows)

export const getTask = async (sql: Sql, userId: number, taskId: number): Promise<TaskRow | undefined> => {
  const rows = await sql.unsafe<Array<TaskRow>>(GET, [userId, taskId], prepared)
  return rows[0]
}

export const createTask = async (
  sql: Sql,
  userId: number,
  input: { readonly title: string; readonly description: string | null }
): Promise<TaskRow> => {
  const rows = await sql.unsafe<Array<TaskRow>>(CREATE, [userId, input.title, input.description], prepared)
  const row = rows[0]
  if (row === undefined) throw new Error("INSERT ... RETURNING returned no row")
  return row
}

export interface TaskPatch {
  readonly title?: string
  readonly description?: string | null
  readonly completed?: boolean
}

export const updateTask = async (
  sql: Sql,
  userId: number,
  taskId: number,
  patch: TaskPatch
): Promise<TaskRow | undefined> => {
  const rows = await sql.unsafe<Array<TaskRow>>(
    UPDATE,
    [
      userId,
      taskId,
      patch.title ?? null,
      patch.description !== undefined,
      patch.description ?? null,
      patch.completed ?? null
    ],
    prepared
  )
  return rows[0]
}

export const deleteTask = async (sql: Sql, userId: number, taskId: number): Promise<boolean> => {
  const result = await sql.unsafe(DELETE, [userId, taskId], prepared)
  return result.count > 0
}

/**
 * Applies migrations/NNNN_*.sql in order, but only to a database without a `tasks` table:
 * the baseline normally gets a fresh database of its own, and when it shares one with the
 * service, the service's migrator (which keeps its own ledger) owns the schema.
 */
export const migrate = async (sql: Sql, directory: string): Promise<number> => {
  const [state] = await sql<Array<{ present: boolean }>>`SELECT to_regclass('public.tasks') IS NOT NULL AS present`
  if (state?.present === true) return 0
  const files = (await readdir(directory)).filter((name) => /^\d{4}_.*\.sql$/.test(name)).sort()
  await sql.begin(async (tx) => {
    for (const file of files) {
      // No parameters: postgres.js sends this with the simple protocol, which accepts
      // several statements (and the plpgsql body) in one go.
      await tx.unsafe(await readFile(path.join(directory, file), "utf8"))
    }
  })
  return files.length
}
