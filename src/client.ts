import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import { Context, Effect, Layer } from "effect"
import { Api } from "./api/Api.ts"

export { Api } from "./api/Api.ts"
export * from "./domain/index.ts"

/**
 * A typed client for the Task API, derived from the same `Api` the server is compiled
 * from. Error responses decode to the tagged errors of the domain, so a caller can
 * `Effect.catchTag("TaskNotFound", …)`. It needs an `HttpClient`; `TaskApiClient.layer`
 * provides the fetch-based one. Nothing here imports the server or a database driver.
 */
export const makeTaskApiClient = (baseUrl: string) => HttpApiClient.make(Api, { baseUrl })

export class TaskApiClient extends Context.Tag("TaskApiClient")<
  TaskApiClient,
  Effect.Effect.Success<ReturnType<typeof makeTaskApiClient>>
>() {
  /** The client for the service at `baseUrl`, over `fetch`. */
  static readonly layer = (baseUrl: string) =>
    Layer.effect(TaskApiClient, makeTaskApiClient(baseUrl)).pipe(Layer.provide(FetchHttpClient.layer))
}
