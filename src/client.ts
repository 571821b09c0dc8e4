import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { Api } from "./api/Api.ts"

export { Api } from "./api/Api.ts"
export * from "./domain/index.ts"

export interface ClientOptions {
  /** A bearer token (from `/auth/signin` or an identity provider), sent on every request. */
  readonly token?: string | Redacted.Redacted<string> | undefined
}

/**
 * A typed client for the Task API, derived from the same `Api` the server is compiled
 * from. Error responses decode to the tagged errors of the domain, so a caller can
 * `Effect.catchTag("TaskNotFound", …)`. It needs an `HttpClient`; `TaskApiClient.layer`
 * provides the fetch-based one. Nothing here imports the server or a database driver.
 */
export const makeTaskApiClient = (baseUrl: string, options: ClientOptions = {}) =>
  HttpApiClient.make(Api, {
    baseUrl,
    transformClient: options.token === undefined
      ? undefined
      : HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token))
  })

export class TaskApiClient extends Context.Tag("TaskApiClient")<
  TaskApiClient,
  Effect.Effect.Success<ReturnType<typeof makeTaskApiClient>>
>() {
  /** The client for the service at `baseUrl`, over `fetch`, with a bearer token when given. */
  static readonly layer = (baseUrl: string, options: ClientOptions = {}) =>
    Layer.effect(TaskApiClient, makeTaskApiClient(baseUrl, options)).pipe(Layer.provide(FetchHttpClient.layer))
}

/** The `ETag` of an answer read `withResponse: true`: what `If-Match` / `If-None-Match` send back. */
export const etagOf = (response: HttpClientResponse.HttpClientResponse): Option.Option<string> =>
  Option.fromNullable(response.headers["etag"])

/**
 * The `after` of the next page, from a list answer's `Link: <…after=N…>; rel="next"`; none on
 * the last page.
 */
export const nextAfter = (response: HttpClientResponse.HttpClientResponse): Option.Option<number> => {
  const link = response.headers["link"]
  const match = link === undefined ? null : /<[^>]*[?&]after=(\d+)[^>]*>\s*;\s*rel="next"/.exec(link)
  return match === null ? Option.none() : Option.some(Number(match[1]))
}
