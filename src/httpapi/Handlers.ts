import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import type { Effect } from "effect"
import type * as Http from "node:http"
import type * as Respond from "./Respond.ts"

type E = HttpApiEndpoint.HttpApiEndpoint.Any

/** The request as it arrived, for the few handlers that need more than the decoded parts. */
export interface RawRequest {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  /** The parsed JSON body, before the payload schema dropped or converted anything (undefined: none). */
  readonly json: unknown
}

/**
 * What an endpoint's implementation receives, each part already decoded by the endpoint's
 * own schema: as `HttpApiBuilder` hands it, with `raw` in place of its `HttpServerRequest`.
 */
export type EndpointRequest<Endpoint extends E> =
  & ([HttpApiEndpoint.HttpApiEndpoint.PathParsed<Endpoint>] extends [never] ? {}
    : { readonly path: HttpApiEndpoint.HttpApiEndpoint.PathParsed<Endpoint> })
  & ([HttpApiEndpoint.HttpApiEndpoint.UrlParams<Endpoint>] extends [never] ? {}
    : { readonly urlParams: HttpApiEndpoint.HttpApiEndpoint.UrlParams<Endpoint> })
  & ([HttpApiEndpoint.HttpApiEndpoint.Headers<Endpoint>] extends [never] ? {}
    : { readonly headers: HttpApiEndpoint.HttpApiEndpoint.Headers<Endpoint> })
  & ([HttpApiEndpoint.HttpApiEndpoint.Payload<Endpoint>] extends [never] ? {}
    : { readonly payload: HttpApiEndpoint.HttpApiEndpoint.Payload<Endpoint> })
  & { readonly raw: RawRequest }

/** The implementation of one endpoint: it may fail only with the errors the endpoint declares. */
export type EndpointHandler<Endpoint extends E, R> = (
  request: EndpointRequest<Endpoint>
) => Effect.Effect<
  Respond.Success<HttpApiEndpoint.HttpApiEndpoint.Success<Endpoint>>,
  Respond.Failure<HttpApiEndpoint.HttpApiEndpoint.Error<Endpoint>>,
  R
>

/**
 * Marks an endpoint of the description that this deployment does not serve (a feature turned
 * off by configuration): it answers exactly as a route that does not exist. Saying so is
 * required: an endpoint without a handler stops the server from starting.
 */
export const Unavailable: unique symbol = Symbol.for("httpapi/Unavailable")
export type Unavailable = typeof Unavailable

export type GroupHandlers<G extends HttpApiGroup.HttpApiGroup.Any, R> = {
  readonly [Name in HttpApiEndpoint.HttpApiEndpoint.Name<HttpApiGroup.HttpApiGroup.Endpoints<G>>]:
    | EndpointHandler<HttpApiEndpoint.HttpApiEndpoint.WithName<HttpApiGroup.HttpApiGroup.Endpoints<G>, Name>, R>
    | Unavailable
}

/** The services the middlewares of a group (and of its endpoints) provide to its handlers. */
export type Provided<G extends HttpApiGroup.HttpApiGroup.Any> = HttpApiMiddleware.HttpApiMiddleware.ExtractProvides<
  | HttpApiGroup.HttpApiGroup.Middleware<G>
  | HttpApiEndpoint.HttpApiEndpoint.Context<HttpApiGroup.HttpApiGroup.Endpoints<G>>
>

/** The middleware implementations a group needs when the server is built. */
export type Middlewares<G extends HttpApiGroup.HttpApiGroup.Any> = HttpApiMiddleware.HttpApiMiddleware.Only<
  | HttpApiGroup.HttpApiGroup.Middleware<G>
  | HttpApiEndpoint.HttpApiEndpoint.Context<HttpApiGroup.HttpApiGroup.Endpoints<G>>
>

export type GroupOf<A extends HttpApi.HttpApi.Any, Name extends string> = A extends
  HttpApi.HttpApi<infer _Id, infer Groups, infer _E, infer _R> ? HttpApiGroup.HttpApiGroup.WithName<Groups, Name> : never

export type GroupNames<A extends HttpApi.HttpApi.Any> = A extends HttpApi.HttpApi<infer _Id, infer Groups, infer _E, infer _R>
  ? HttpApiGroup.HttpApiGroup.Name<Groups>
  : never

type PathOf<G extends HttpApiGroup.HttpApiGroup.Any> = HttpApiEndpoint.HttpApiEndpoint.PathParsed<
  HttpApiGroup.HttpApiGroup.Endpoints<G>
>

/**
 * Runs after the path is decoded and before anything else of the request (url parameters,
 * headers, body): where a group checks that the caller may act on the resource the path names
 * (a 403 comes before a 400 about the body). Fails with an error the group declares.
 */
export type Authorize<G extends HttpApiGroup.HttpApiGroup.Any, R> = (
  path: PathOf<G>
) => Effect.Effect<void, HttpApiGroup.HttpApiGroup.Error<G>, R>

/** The implementation of one group, ready for `Router.make`. `R`: what it needs at run time. */
export interface GroupImplementation<Name extends string, R> {
  readonly name: Name
  readonly handlers: Readonly<Record<string, AnyHandler | Unavailable>>
  readonly authorize: ((path: unknown) => Effect.Effect<void, unknown, unknown>) | undefined
  /** Phantom: the services the handlers need, less those the group's middlewares provide. */
  readonly requirements?: (_: never) => R
}

export type AnyHandler = (request: never) => Effect.Effect<unknown, unknown, unknown>

/** What the handlers of a group need, read off their types. */
export type HandlersContext<H> = {
  readonly [K in keyof H]: H[K] extends (request: never) => Effect.Effect<infer _A, infer _E, infer R> ? R : never
}[keyof H]

/**
 * Implements one group of `api`. Every endpoint needs a handler (or `Unavailable`); a handler may
 * use what the group's middlewares provide (the current user, say) without it becoming a
 * requirement of the server.
 */
export const group = <
  A extends HttpApi.HttpApi.Any,
  const Name extends GroupNames<A>,
  const H extends GroupHandlers<GroupOf<A, Name>, any>,
  RA = never
>(
  _api: A,
  name: Name,
  handlers: H,
  options: { readonly authorize?: Authorize<GroupOf<A, Name>, RA> } = {}
): GroupImplementation<Name, Exclude<HandlersContext<H> | RA, Provided<GroupOf<A, Name>>>> => ({
  name,
  handlers: handlers as Readonly<Record<string, AnyHandler | Unavailable>>,
  authorize: options.authorize as GroupImplementation<Name, never>["authorize"]
})

export type RequirementsOf<I> = I extends GroupImplementation<infer _Name, infer R> ? R : never
