import { existsSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Db from "./baseline/sql.ts"
import type { TaskRow } from "./baseline/sql.ts"
import { decodeCreate, decodeId, decodePatch, describe } from "./baseline/validate.ts"
import type { Decoded, Violation } from "./baseline/validate.ts"

/**
 * The bare baseline: node:http, postgres.js, hand-written routing and validation, one prepared
 * statement per request, and the same response bytes as the service. It is what Node can do with no framework at all,
 * so the ratio service/baseline shows what the framework costs.
 *
 * Env: PORT (8001), HOST (127.0.0.1), DATABASE_URL (required), BASELINE_POOL_SIZE (10).
 */
const databaseUrl = process.env.DATABASE_URL
if (databaseUrl === undefined || databaseUrl === "") {
  process.stderr.write("baseline: DATABASE_URL is required\n")
  process.exit(2)
}
const port = Number(process.env.PORT ?? "8001")
const host = process.env.HOST ?? "127.0.0.1"
const BODY_LIMIT = 1024 * 1024

const sql = Db.connect(databaseUrl, Number(process.env.BASELINE_POOL_SIZE ?? "10"))
/** The repository's migrations/, found upwards from this file (bench/ as source, bench/dist/ as a bundle). */
const findMigrations = (from: string): string => {
  const candidate = path.join(from, "migrations")
  if (existsSync(candidate)) return candidate
  const parent = path.dirname(from)
  if (parent === from) throw new Error("baseline: no migrations/ directory above the baseline")
  return findMigrations(parent)
}
const migrations = findMigrations(path.dirname(fileURLToPath(import.meta.url)))

// Key order and ISO timestamps are part of the wire format, so the object is built field by field.
const wire = (row: TaskRow) => ({
  id: row.id,
  title: row.title,
  description: row.description,
  completed: row.completed,
  user_id: row.user_id,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString()
})

const send = (res: http.ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const sendError = (res: http.ServerResponse, status: number, code: string, message: string): void =>
  send(res, status, JSON.stringify({ error: { code, message } }))

const sendViolation = (res: http.ServerResponse, violation: Violation): void => {
  const { field, ...rest } = violation
  const details = { field, ...rest }
  send(res, 400, JSON.stringify({ error: { code: "VALIDATION_ERROR", message: describe(violation), details } }))
}

const notFound = (res: http.ServerResponse): void => sendError(res, 404, "NOT_FOUND", "Task not found")

/** Resolves to the body text, or to undefined after answering 413 itself. */
const readBody = (req: http.IncomingMessage, res: http.ServerResponse): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Stop reading what could be an endless body: answer, then drop the connection.
      res.setHeader("connection", "close")
      sendError(res, 413, "PAYLOAD_TOO_LARGE", "Request body is too large")
      res.on("finish", () => req.destroy())
      resolve(undefined)
    }
    if (Number(req.headers["content-length"] ?? "0") > BODY_LIMIT) return tooLarge()
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    req.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > BODY_LIMIT) {
        done = true
        return tooLarge()
      }
      chunks.push(chunk)
    })
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks, size).toString("utf8"))
    })
    req.on("error", reject)
  })

const withBody = async <A>(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  decode: (text: string) => Decoded<A>
): Promise<A | undefined> => {
  const text = await readBody(req, res)
  if (text === undefined) return undefined
  const decoded = decode(text)
  if (decoded.ok) return decoded.value
  sendViolation(res, decoded.violation)
  return undefined
}

const collection = async (req: http.IncomingMessage, res: http.ServerResponse, userId: number): Promise<void> => {
  if (req.method === "GET") {
    const rows = await Db.listTasks(sql, userId)
    return send(res, 200, JSON.stringify(rows.map(wire)))
  }
  if (req.method === "POST") {
    const input = await withBody(req, res, decodeCreate)
    if (input === undefined) return
    return send(res, 201, JSON.stringify(wire(await Db.createTask(sql, userId, input))))
  }
  return sendError(res, 405, "METHOD_NOT_ALLOWED", "Method not allowed")
}

const item = async (req: http.IncomingMessage, res: http.ServerResponse, userId: number, taskId: number) => {
  switch (req.method) {
    case "GET": {
      const row = await Db.getTask(sql, userId, taskId)
      return row === undefined ? notFound(res) : send(res, 200, JSON.stringify(wire(row)))
    }
    case "PUT": {
      const patch = await withBody(req, res, decodePatch)
      if (patch === undefined) return
      const row = await Db.updateTask(sql, userId, taskId, patch)
      return row === undefined ? notFound(res) : send(res, 200, JSON.stringify(wire(row)))
    }
    case "DELETE":
      return (await Db.deleteTask(sql, userId, taskId))
        ? send(res, 200, '{"message":"Task deleted successfully"}')
        : notFound(res)
    default:
      return sendError(res, 405, "METHOD_NOT_ALLOWED", "Method not allowed")
  }
}

const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
  const url = req.url ?? "/"
  const query = url.indexOf("?")
  const pathname = query === -1 ? url : url.slice(0, query)
  if (pathname === "/health") {
    return req.method === "GET"
      ? send(res, 200, '{"status":"ok"}')
      : sendError(res, 405, "METHOD_NOT_ALLOWED", "Method not allowed")
  }
  // "", "users", {user_id}, "tasks"[, {task_id}]
  const parts = pathname.split("/")
  const [root, users, userText, tasks, taskText] = parts
  if (parts.length > 5 || root !== "" || users !== "users" || tasks !== "tasks" || userText === undefined || taskText === "") {
    return sendError(res, 404, "NOT_FOUND", "Route not found")
  }
  const userId = decodeId(userText, "user_id")
  if (!userId.ok) return sendViolation(res, userId.violation)
  if (taskText === undefined) return collection(req, res, userId.value)
  const taskId = decodeId(taskText, "task_id")
  if (!taskId.ok) return sendViolation(res, taskId.violation)
  return item(req, res, userId.value, taskId.value)
}

const server = http.createServer((req, res) => {
  route(req, res).catch((cause: unknown) => {
    process.stderr.write(`baseline: ${req.method} ${req.url}: ${String(cause)}\n`)
    if (!res.headersSent) sendError(res, 500, "INTERNAL_ERROR", "Internal server error")
    else res.destroy()
  })
})

const shutdown = () => {
  server.close()
  sql.end({ timeout: 5 }).then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.once("SIGTERM", shutdown)
process.once("SIGINT", shutdown)

const applied = await Db.migrate(sql, migrations)
if (applied > 0) process.stderr.write(`baseline: applied ${applied} migration(s)\n`)
server.listen(port, host, () => process.stderr.write(`baseline: listening on http://${host}:${port}\n`))
