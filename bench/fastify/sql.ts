import { existsSync } from "node:fs"
import { readdir, readFile } from "node:fs/promises"
import * as path from "node:path"
import pg from "pg"

/** What node-postgres hands back for a task row: int4 as number, timestamptz as Date. */
export interface TaskRow {
  readonly id: number
  readonly title: string
  readonly description: string | null
  readonly completed: boolean
  readonly user_id: number
  readonly created_at: Date
  readonly updated_at: Date
}

export interface TaskPatch {
  readonly title?: string
  readonly description?: string | null
  readonly completed?: boolean
}

// The baseline's statements, one per request. Named, so node-postgres prepares each once per
// connection: the cheap habit a practitioner keeps, and what the baseline does too.
const COLUMNS = "id, title, description, completed, user_id, created_at, updated_at"
const LIST = { name: "list", text: `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 ORDER BY id` }
const GET = { name: "get", text: `SELECT ${COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2` }
const CREATE = {
  name: "create",
  text: "WITH owner AS (INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING) " +
    `INSERT INTO tasks (user_id, title, description) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`
}
const UPDATE = {
  name: "update",
  text: "UPDATE tasks SET title = COALESCE($3, title), description = CASE WHEN $4 THEN $5 ELSE description END, " +
    `completed = COALESCE($6, completed) WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`
}
const DELETE = { name: "delete", text: "DELETE FROM tasks WHERE user_id = $1 AND id = $2" }

export const connect = (url: string, max: number): pg.Pool => new pg.Pool({ connectionString: url, max })

export const listTasks = async (pool: pg.Pool, userId: number): Promise<ReadonlyArray<TaskRow>> =>
  (await pool.query<TaskRow>({ ...LIST, values: [userId] })).rows

export const getTask = async (pool: pg.Pool, userId: number, taskId: number): Promise<TaskRow | undefined> =>
  (await pool.query<TaskRow>({ ...GET, values: [userId, taskId] })).rows[0]

export const createTask = async (pool: pg.Pool, userId: number, title: string, description: string | null): Promise<TaskRow> => {
  const row = (await pool.query<TaskRow>({ ...CREATE, values: [userId, title, description] })).rows[0]
  if (row === undefined) throw new Error("INSERT ... RETURNING returned no row")
  return row
}

export const updateTask = async (pool: pg.Pool, userId: number, taskId: number, patch: TaskPatch): Promise<TaskRow | undefined> =>
  (await pool.query<TaskRow>({
    ...UPDATE,
    values: [userId, taskId, patch.title ?? null, patch.description !== undefined, patch.description ?? null, patch.completed ?? null]
  })).rows[0]

export const deleteTask = async (pool: pg.Pool, userId: number, taskId: number): Promise<boolean> =>
  ((await pool.query({ ...DELETE, values: [userId, taskId] })).rowCount ?? 0) > 0

/** The repository's migrations/, found upwards from `from` (bench/ as source, bench/dist/ as a bundle). */
export const findMigrations = (from: string): string => {
  const candidate = path.join(from, "migrations")
  if (existsSync(candidate)) return candidate
  const parent = path.dirname(from)
  if (parent === from) throw new Error("fastify: no migrations/ directory above the target")
  return findMigrations(parent)
}

/** As the baseline: migrations/NNNN_*.sql in order, only on a database without a `tasks` table. */
export const migrate = async (pool: pg.Pool, directory: string): Promise<number> => {
  const client = await pool.connect()
  try {
    const state = await client.query<{ present: boolean }>("SELECT to_regclass('public.tasks') IS NOT NULL AS present")
    if (state.rows[0]?.present === true) return 0
    const files = (await readdir(directory)).filter((name) => /^\d{4}_.*\.sql$/.test(name)).sort()
    await client.query("BEGIN")
    // No parameters: node-postgres uses the simple protocol, which takes several statements at once.
    for (const file of files) await client.query(await readFile(path.join(directory, file), "utf8"))
    await client.query("COMMIT")
    return files.length
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}
