import { Effect, type Layer } from "effect"
import type { ServerConfig } from "../AppConfig.ts"
import { Api } from "../api/Api.ts"
import { documentJson } from "../api/Document.ts"
import { Handlers, type Incoming, NodeServer, type Reply, Router } from "../httpapi/index.ts"
import type { TaskRepository } from "../repository/TaskRepository.ts"
import { methodNotAllowed, TaskApiEdge } from "./Edge.ts"
import { HealthHttp } from "./HealthHttp.ts"
import { TasksHttp } from "./TasksHttp.ts"

export { ListeningAddress } from "../httpapi/NodeServer.ts"

/**
 * The documentation page embeds Scalar's multi-megabyte script: it is loaded on the
 * first request for `/docs`, not at start-up, so a server nobody reads the docs of
 * does not carry it.
 */
const docsPage = Effect.flatMap(Effect.promise(() => import("./Docs.ts")), (docs) => docs.docsPage)

const documentReply: Reply = { status: 200, headers: {}, body: documentJson }

/** `/openapi.json` and `/docs`, outside the API description they document. */
const serveOther = (incoming: Incoming): Effect.Effect<Reply> | undefined => {
  const pathname = incoming.url.split("?", 1)[0]
  if (pathname !== "/openapi.json" && pathname !== "/docs") return undefined
  if (incoming.method !== "GET" && incoming.method !== "HEAD") {
    return Effect.succeed({ ...methodNotAllowed, headers: { ...methodNotAllowed.headers, allow: "GET, HEAD" } })
  }
  return pathname === "/docs"
    ? Effect.map(docsPage, (html): Reply => ({ status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: html }))
    : Effect.succeed(documentReply)
}

/** The Task API's routes, compiled from `Api` with the handlers of each group. */
export const TaskApiRouter = Router.make(
  Api,
  {
    tasks: Handlers.group(Api, "tasks", TasksHttp),
    health: Handlers.group(Api, "health", HealthHttp)
  },
  // CONTRACT: bodies over 1 MiB are refused, and so is JSON nested deeper than 32 levels or with
  // more than 1,000 object keys in all, before it is parsed.
  { edge: TaskApiEdge, limits: { maxBytes: 1024 * 1024, maxDepth: 32, maxKeys: 1000 } }
)

/**
 * The HTTP server: node:http serving the routes compiled from `Api`. It listens only once
 * the layers it needs are built.
 */
export const makeHttpServer = (
  config: ServerConfig
): Layer.Layer<NodeServer.ListeningAddress, Router.Unservable | Error, TaskRepository> =>
  NodeServer.layer(TaskApiRouter, { ...config, serveOther })
