import type { Stream } from "effect"

/**
 * What a handler can answer besides a plain value: the value with response headers (declared
 * for its status in the description, see `Describe.ts`), or an array written as it is read.
 * Both work on the failure channel too: `Effect.fail(Respond.withHeaders(new NotModified(), { ETag }))`.
 */
export const TypeId: unique symbol = Symbol.for("httpapi/Respond")

export type Headers = Readonly<Record<string, string>>

export interface WithHeaders<A> {
  readonly [TypeId]: "WithHeaders"
  readonly value: A
  readonly headers: Headers
}

/**
 * An array answer written element by element as `rest` is pulled, with backpressure: `head`
 * first (it is in hand), then `rest`. Status and headers go out before `rest` is read, so a
 * failure of `rest` cannot become an error answer any more: the connection is closed with the
 * array unfinished, and the client sees a broken body, never a wrong one.
 */
export interface Streamed<A> {
  readonly [TypeId]: "Streamed"
  readonly head: ReadonlyArray<A>
  readonly rest: Stream.Stream<A, unknown>
  readonly headers: Headers
}

export const withHeaders = <A>(value: A, headers: Headers): WithHeaders<A> => ({ [TypeId]: "WithHeaders", value, headers })

export const streamed = <A>(head: ReadonlyArray<A>, rest: Stream.Stream<A, unknown>, headers: Headers = {}): Streamed<A> => ({
  [TypeId]: "Streamed",
  head,
  rest,
  headers
})

const isRespond = (u: unknown): u is WithHeaders<unknown> | Streamed<unknown> =>
  typeof u === "object" && u !== null && TypeId in u

export const isWithHeaders = (u: unknown): u is WithHeaders<unknown> =>
  isRespond(u) && u[TypeId] === "WithHeaders"

export const isStreamed = (u: unknown): u is Streamed<unknown> => isRespond(u) && u[TypeId] === "Streamed"

/** What a handler may succeed with for a success type `A`. */
export type Success<A> = A | WithHeaders<A> | (A extends ReadonlyArray<infer Item> ? Streamed<Item> : never)

/** What a handler may fail with for an error type `E`. */
export type Failure<E> = E | WithHeaders<E>
