/**
 * Serves an `HttpApi` description on node:http, compiled once at start-up: the routes, the
 * decoding of path, url parameters, headers and JSON payload by the endpoints' own schemas, the
 * description's middlewares (security included), the encoding of every declared success and
 * error, declared response headers, and streamed array answers. What it cannot serve of a
 * description makes it refuse to start (`Unservable`), never ignored.
 *
 * It knows nothing of any particular API: the answers it gives on its own (unknown route, a
 * request part its schema refuses, a body that is not JSON…) come from the `Edge` its user
 * supplies, in that API's error format.
 *
 *   const tasks = Handlers.group(Api, "tasks", { list: …, get: … })
 *   const router = Router.make(Api, { tasks, health }, { edge, limits })
 *   const server = NodeServer.layer(router, { port, host, … })
 *
 * `Describe` is the part a description imports (response headers, their document transform).
 */
export * as Body from "./Body.ts"
export * as Describe from "./Describe.ts"
export type { Edge, Incoming, Reply, RequestPart } from "./Endpoint.ts"
export * as Handlers from "./Handlers.ts"
export * as NodeServer from "./NodeServer.ts"
export * as Respond from "./Respond.ts"
export * as Router from "./Router.ts"
