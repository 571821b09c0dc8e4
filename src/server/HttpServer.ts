import { Effect, Option } from "effect"
import type { ServerConfig } from "../AppConfig.ts"
import { Api } from "../api/Api.ts"
import { documentJson } from "../api/Document.ts"
import { Handlers, type Incoming, NodeServer, type Reply, Router } from "../httpapi/index.ts"
import { authGroup } from "../identity/Http.ts"
import type { AuthMode } from "../identity/AuthConfig.ts"
import { docsResponse, isDocsPath } from "./Docs.ts"
import { methodNotAllowed, notFound, TaskApiEdge } from "./Edge.ts"
import { HealthHttp } from "./HealthHttp.ts"
import { TasksHttp } from "./TasksHttp.ts"

export { ListeningAddress } from "../httpapi/NodeServer.ts"

const documentReply: Reply = { status: 200, headers: {}, body: documentJson }

/**
 * `/openapi.json` and the documentation (`/docs` and its script), outside the API description
 * they document. The docs' assets (Scalar's multi-megabyte script) are built on first use.
 */
const serveOther = (incoming: Incoming): Effect.Effect<Reply> | undefined => {
  // Every API request passes here: it leaves at the prefix test, without a copy of its URL.
  const url = incoming.url
  if (!url.startsWith("/docs") && !url.startsWith("/openapi.json")) return undefined
  const queryAt = url.indexOf("?")
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt)
  const docs = isDocsPath(pathname)
  if (pathname !== "/openapi.json" && !docs) return undefined
  if (incoming.method !== "GET" && incoming.method !== "HEAD") {
    return Effect.succeed({ ...methodNotAllowed, headers: { ...methodNotAllowed.headers, allow: "GET, HEAD" } })
  }
  if (!docs) return Effect.succeed(documentReply)
  return Effect.map(
    docsResponse(pathname, {
      acceptEncoding: incoming.request.headers["accept-encoding"],
      ifNoneMatch: incoming.request.headers["if-none-match"]
    }),
    Option.match({
      onNone: () => notFound,
      onSome: (answer): Reply => ({ status: answer.status, headers: answer.headers, body: answer.status === 304 ? undefined : answer.body })
    })
  )
}

/** The Task API's routes, compiled from `Api` with the handlers of each group. */
export const makeTaskApiRouter = (authMode: AuthMode) =>
  Router.make(
    Api,
    {
      tasks: TasksHttp,
      health: Handlers.group(Api, "health", HealthHttp),
      auth: authGroup(authMode)
    },
  // CONTRACT: bodies over 1 MiB are refused, and so is JSON nested deeper than 32 levels or with
  // more than 1,000 object keys in all, before it is parsed.
    { edge: TaskApiEdge, limits: { maxBytes: 1024 * 1024, maxDepth: 32, maxKeys: 1000 } }
  )

/**
 * The HTTP server: node:http serving the routes compiled from `Api`. It listens only once
 * the layers it needs are built.
 */
export const makeHttpServer = (config: ServerConfig, authMode: AuthMode = "open") =>
  NodeServer.layer(makeTaskApiRouter(authMode), { ...config, serveOther })
