/**
 * A small API, not the tasks one, that uses every description feature the server in
 * `src/httpapi` serves: path parameters (a literal segment beside a parameter), url parameters
 * (a repeated one included), request headers, a JSON payload, two success statuses on one
 * endpoint, an empty success, errors with and without a body, a security middleware that
 * provides a service and a plain middleware that reads the request. The same handlers are served
 * by `src/httpapi` and by `HttpApiBuilder` in `test/httpapi.test.ts`.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Context, Effect, Layer, Redacted, Schema } from "effect"

export class User extends Context.Tag("test/User")<User, { readonly name: string }>() {}
export class Seen extends Context.Tag("test/Seen")<Seen, { readonly agent: string }>() {}

export class Auth extends HttpApiMiddleware.Tag<Auth>()("test/Auth", {
  failure: HttpApiError.Unauthorized,
  provides: User,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export class Agent extends HttpApiMiddleware.Tag<Agent>()("test/Agent", { provides: Seen }) {}

export class ItemNotFound extends Schema.TaggedError<ItemNotFound>()(
  "ItemNotFound",
  { id: Schema.Number },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class NameTaken extends Schema.TaggedError<NameTaken>()(
  "NameTaken",
  { name: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

export const Item = Schema.Struct({
  id: Schema.Number,
  name: Schema.String,
  tags: Schema.Array(Schema.String)
})
export type Item = typeof Item.Type

const Queued = Schema.Struct({ queued: Schema.Literal(true), name: Schema.String })

const IdPath = Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) })

export class ItemsApi extends HttpApiGroup.make("items")
  .add(
    HttpApiEndpoint.get("special", "/items/special").addSuccess(Item)
  )
  .add(
    HttpApiEndpoint.get("get", "/items/:id")
      .setPath(IdPath)
      .setUrlParams(Schema.Struct({ upper: Schema.optional(Schema.BooleanFromString) }))
      .addSuccess(Item)
      .addError(ItemNotFound)
  )
  .add(
    HttpApiEndpoint.get("list", "/items")
      .setUrlParams(Schema.Struct({
        limit: Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 10)),
        tag: Schema.optional(Schema.Array(Schema.String))
      }))
      .addSuccess(Schema.Array(Item))
  )
  .add(
    HttpApiEndpoint.post("create", "/items")
      .setPayload(Schema.Struct({ name: Schema.String.pipe(Schema.minLength(1)), tags: Schema.optional(Schema.Array(Schema.String)) }))
      .setHeaders(Schema.Struct({ "x-mode": Schema.optional(Schema.Literal("now", "later")) }))
      .addSuccess(Item, { status: 201 })
      .addSuccess(Queued, { status: 202 })
      .addError(NameTaken)
  )
  .add(
    HttpApiEndpoint.del("remove", "/items/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(ItemNotFound)
  )
{}

export class SecureApi extends HttpApiGroup.make("secure")
  .add(
    HttpApiEndpoint.get("me", "/me").addSuccess(Schema.Struct({ name: Schema.String, agent: Schema.String }))
  )
  .add(
    HttpApiEndpoint.get("owned", "/secure/items/:id").setPath(IdPath).addSuccess(Item).addError(ItemNotFound)
  )
  .middleware(Agent)
  .middleware(Auth)
{}

export class TestApi extends HttpApi.make("differential").add(ItemsApi).add(SecureApi) {}

/** Tokens the security middleware accepts, and whom they name. */
const tokens: Record<string, string> = { "token-ada": "ada", "token-bob": "bob" }

export const AuthLive = Layer.succeed(Auth, {
  bearer: (token) => {
    const name = tokens[Redacted.value(token)]
    return name === undefined ? Effect.fail(new HttpApiError.Unauthorized()) : Effect.succeed({ name })
  }
})

export const AgentLive = Layer.succeed(
  Agent,
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => ({ agent: request.headers["user-agent"] ?? "none" }))
)

const seed: ReadonlyArray<Item> = [
  { id: 1, name: "one", tags: ["a"] },
  { id: 2, name: "two", tags: ["a", "b"] },
  { id: 3, name: "three", tags: [] }
]

/**
 * The implementation, written once against what both servers hand a handler (the decoded
 * parts), over a store of its own.
 */
export const makeHandlers = () => {
  const items = new Map(seed.map((item) => [item.id, item]))
  let next = 100
  const find = (id: number) => {
    const item = items.get(id)
    return item === undefined ? Effect.fail(new ItemNotFound({ id })) : Effect.succeed(item)
  }
  return {
    items: {
      special: () => Effect.succeed<Item>({ id: 0, name: "special", tags: [] }),
      get: ({ path, urlParams }: { readonly path: { readonly id: number }; readonly urlParams: { readonly upper?: boolean | undefined } }) =>
        Effect.map(find(path.id), (item) => (urlParams.upper === true ? { ...item, name: item.name.toUpperCase() } : item)),
      list: ({ urlParams }: { readonly urlParams: { readonly limit: number; readonly tag?: ReadonlyArray<string> | undefined } }) =>
        Effect.sync(() =>
          [...items.values()]
            .filter((item) => urlParams.tag === undefined || urlParams.tag.every((tag) => item.tags.includes(tag)))
            .slice(0, urlParams.limit)
        ),
      create: (
        { headers, payload }: {
          readonly payload: { readonly name: string; readonly tags?: ReadonlyArray<string> | undefined }
          readonly headers: { readonly "x-mode"?: "now" | "later" | undefined }
        }
      ) =>
        Effect.suspend((): Effect.Effect<Item | typeof Queued.Type, NameTaken> => {
          if ([...items.values()].some((item) => item.name === payload.name)) {
            return Effect.fail(new NameTaken({ name: payload.name }))
          }
          if (headers["x-mode"] === "later") return Effect.succeed({ queued: true as const, name: payload.name })
          const item: Item = { id: next++, name: payload.name, tags: payload.tags ?? [] }
          items.set(item.id, item)
          return Effect.succeed(item)
        }),
      remove: ({ path }: { readonly path: { readonly id: number } }) =>
        Effect.flatMap(find(path.id), () => Effect.sync(() => void items.delete(path.id)))
    },
    secure: {
      me: () => Effect.zipWith(User, Seen, (user, seen) => ({ name: user.name, agent: seen.agent })),
      owned: ({ path }: { readonly path: { readonly id: number } }) =>
        Effect.flatMap(User, (user) => Effect.filterOrFail(find(path.id), (item) => item.tags.includes(user.name), () => new ItemNotFound({ id: path.id })))
    }
  }
}
