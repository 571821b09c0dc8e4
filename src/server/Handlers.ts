import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type { Effect } from "effect"

/**
 * What an endpoint's implementation receives: its path parameters and payload, already
 * decoded by the endpoint's own schemas.
 */
export type EndpointRequest<E extends HttpApiEndpoint.HttpApiEndpoint.Any> =
  & ([HttpApiEndpoint.HttpApiEndpoint.PathParsed<E>] extends [never] ? {}
    : { readonly path: HttpApiEndpoint.HttpApiEndpoint.PathParsed<E> })
  & ([HttpApiEndpoint.HttpApiEndpoint.Payload<E>] extends [never] ? {}
    : { readonly payload: HttpApiEndpoint.HttpApiEndpoint.Payload<E> })

/** The implementation of one endpoint: it may fail only with the errors the endpoint declares. */
export type EndpointHandler<E extends HttpApiEndpoint.HttpApiEndpoint.Any, R> = (
  request: EndpointRequest<E>
) => Effect.Effect<HttpApiEndpoint.HttpApiEndpoint.Success<E>, HttpApiEndpoint.HttpApiEndpoint.Error<E>, R>

/** One implementation per endpoint of a group, keyed by endpoint name: none missing, none extra. */
export type GroupHandlers<G extends HttpApiGroup.HttpApiGroup.Any, R> = {
  readonly [Name in HttpApiEndpoint.HttpApiEndpoint.Name<HttpApiGroup.HttpApiGroup.Endpoints<G>>]: EndpointHandler<
    HttpApiEndpoint.HttpApiEndpoint.WithName<HttpApiGroup.HttpApiGroup.Endpoints<G>, Name>,
    R
  >
}

/** Implementations for every group of an API, keyed by group name. */
export type ApiHandlers<A extends HttpApi.HttpApi.Any, R> = A extends
  HttpApi.HttpApi<infer _Id, infer Groups, infer _E, infer _R> ? {
    readonly [Name in HttpApiGroup.HttpApiGroup.Name<Groups>]: GroupHandlers<
      HttpApiGroup.HttpApiGroup.WithName<Groups, Name>,
      R
    >
  }
  : never
