import { Ajv } from "ajv"
import Fastify from "fastify"
import type { FastifyError, FastifyReply } from "fastify"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, type Violation } from "./baseline/validate.ts"
import { createBody, patchBody, responses, taskParams, userParams, violationOf } from "./fastify/schemas.ts"
import * as Db from "./fastify/sql.ts"
import type { TaskPatch } from "./fastify/sql.ts"

/**
 * The contract (version 1) the way Fastify's documentation teaches it: Fastify 5, route
 * `schema` for validation (ajv) and response serialization (fast-json-stringify), an error
 * handler and a not-found handler for the envelope, a node-postgres Pool, one statement per
 * request. It is what "just Fastify" gives, for the ratio service/fastify.
 *
 * Env: PORT (8002), HOST (127.0.0.1), DATABASE_URL (required), FASTIFY_POOL_SIZE (10).
 */
const databaseUrl = process.env.DATABASE_URL
if (databaseUrl === undefined || databaseUrl === "") {
  process.stderr.write("fastify: DATABASE_URL is required\n")
  process.exit(2)
}
const port = Number(process.env.PORT ?? "8002")
const host = process.env.HOST ?? "127.0.0.1"
const pool = Db.connect(databaseUrl, Number(process.env.FASTIFY_POOL_SIZE ?? "10"))

// Fastify's own ajv coerces types everywhere ("5" would pass as a title, null as `false`): the
// documented remedy is an instance per part, coercing only the path's strings to integers.
const bodyAjv = new Ajv({ coerceTypes: false, allErrors: false, strict: false })
const paramsAjv = new Ajv({ coerceTypes: true, allErrors: false, strict: false })

const app = Fastify({
  logger: false,
  bodyLimit: 1024 * 1024,
  // The contract ignores unknown fields, `__proto__` included, rather than refusing the body.
  onProtoPoisoning: "remove",
  onConstructorPoisoning: "remove",
  // HEAD is not part of the contract (the service answers 405), so no automatic HEAD routes.
  exposeHeadRoutes: false
})

app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? bodyAjv : paramsAjv).compile(schema))

// Version 1 reads every body as JSON, whatever its Content-Type says (curl -d sends form
// encoding): Fastify's text/plain parser goes, and the catch-all parses JSON.
const json = app.getDefaultJsonParser("remove", "remove")
app.removeContentTypeParser("text/plain")
app.addContentTypeParser("*", { parseAs: "string" }, json)

const envelope = (code: string, message: string) => ({ error: { code, message } })
const violation = (reply: FastifyReply, v: Violation) =>
  reply.code(400).send({ error: { code: "VALIDATION_ERROR", message: describe(v), details: v } })
const taskNotFound = (reply: FastifyReply) => reply.code(404).send(envelope("NOT_FOUND", "Task not found"))

app.setErrorHandler((error: FastifyError, request, reply) => {
  if (error.validation !== undefined) return violation(reply, violationOf(error.validation[0]))
  if (error.statusCode === 413) return reply.code(413).send(envelope("PAYLOAD_TOO_LARGE", "Request body is too large"))
  if (error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return violation(reply, { field: "body", constraint: "json" })
  }
  process.stderr.write(`fastify: ${request.method} ${request.url}: ${String(error)}\n`)
  return reply.code(500).send(envelope("INTERNAL_ERROR", "Internal server error"))
})

app.setNotFoundHandler((_request, reply) => reply.code(404).send(envelope("NOT_FOUND", "Route not found")))

interface UserPath { user_id: number }
interface TaskPath extends UserPath { task_id: number }
interface CreateInput { title: string; description?: string | null }

app.get("/health", { schema: { response: responses.health } }, async () => ({ status: "ok" }))

app.get<{ Params: UserPath }>(
  "/users/:user_id/tasks",
  { schema: { params: userParams, response: responses.list } },
  (request) => Db.listTasks(pool, request.params.user_id)
)

app.post<{ Params: UserPath; Body: CreateInput }>(
  "/users/:user_id/tasks",
  { schema: { params: userParams, body: createBody, response: responses.created } },
  async (request, reply) => {
    const { title, description } = request.body
    const row = await Db.createTask(pool, request.params.user_id, title, description ?? null)
    return reply.code(201).send(row)
  }
)

app.get<{ Params: TaskPath }>(
  "/users/:user_id/tasks/:task_id",
  { schema: { params: taskParams, response: responses.task } },
  async (request, reply) => {
    const row = await Db.getTask(pool, request.params.user_id, request.params.task_id)
    return row === undefined ? taskNotFound(reply) : row
  }
)

app.put<{ Params: TaskPath; Body: TaskPatch }>(
  "/users/:user_id/tasks/:task_id",
  { schema: { params: taskParams, body: patchBody, response: responses.task } },
  async (request, reply) => {
    const row = await Db.updateTask(pool, request.params.user_id, request.params.task_id, request.body)
    return row === undefined ? taskNotFound(reply) : row
  }
)

app.delete<{ Params: TaskPath }>(
  "/users/:user_id/tasks/:task_id",
  { schema: { params: taskParams, response: responses.deleted } },
  async (request, reply) =>
    (await Db.deleteTask(pool, request.params.user_id, request.params.task_id))
      ? { message: "Task deleted successfully" }
      : taskNotFound(reply)
)

// Fastify answers an unrouted method with its not-found handler; the contract wants 405 on a known path.
const OTHER_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] as const
const methodNotAllowed = async (_request: unknown, reply: FastifyReply) =>
  reply.code(405).send(envelope("METHOD_NOT_ALLOWED", "Method not allowed"))
const allowed: Record<string, ReadonlyArray<string>> = {
  "/health": ["GET"],
  "/users/:user_id/tasks": ["GET", "POST"],
  "/users/:user_id/tasks/:task_id": ["GET", "PUT", "DELETE"]
}
for (const [url, methods] of Object.entries(allowed)) {
  app.route({ method: OTHER_METHODS.filter((method) => !methods.includes(method)), url, handler: methodNotAllowed })
}

const shutdown = () => {
  app.close().then(() => pool.end()).then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.once("SIGTERM", shutdown)
process.once("SIGINT", shutdown)

const applied = await Db.migrate(pool, Db.findMigrations(path.dirname(fileURLToPath(import.meta.url))))
if (applied > 0) process.stderr.write(`fastify: applied ${applied} migration(s)\n`)
await app.listen({ port, host })
process.stderr.write(`fastify: listening on http://${host}:${port}\n`)
