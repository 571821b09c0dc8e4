import { Schema } from "effect"
import { MAX_ID } from "./Ids.ts"
import { rule } from "./Validation.ts"

/**
 * The query parameters of a list (CONTRACT: "Version 2: lists") and the request headers of
 * conditional requests and retried creates, as they arrive: text, decoded here.
 */
// The rule sits on the string itself too: a repeated parameter arrives as an array, which fails
// there, before the filter, and must still name its parameter (not fall back to `body`).
const notAnInteger = rule({ constraint: "type", expected: "an integer" })
const integerText = Schema.String.annotations(notAnInteger).pipe(
  Schema.filter((text) => /^-?[0-9]+$/.test(text), notAnInteger)
)

const integerBetween = (min: number, max: number, description: string) =>
  Schema.compose(integerText, Schema.NumberFromString).pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= min && n <= max, rule({ constraint: "range", min, max }))
  ).annotations({ description, jsonSchema: { type: "integer", minimum: min, maximum: max } })

export const MAX_LIMIT = 100

export const Limit = integerBetween(1, MAX_LIMIT, "At most this many tasks (1 to 100); without it, every matching task")
export const After = integerBetween(0, MAX_ID, "Only tasks with a greater id (the last id of the previous page)")

export const CompletedFilter = Schema.transform(
  Schema.Literal("true", "false").annotations(rule({ constraint: "type", expected: "true or false" })),
  Schema.Boolean,
  { strict: true, decode: (text) => text === "true", encode: (flag) => (flag ? "true" : "false") }
).annotations({ description: "Only tasks in this state", jsonSchema: { type: "boolean" } })

export const ListParams = Schema.Struct({
  completed: Schema.optional(CompletedFilter),
  limit: Schema.optional(Limit),
  after: Schema.optional(After)
})

export const IfNoneMatch = Schema.Struct({
  "if-none-match": Schema.optional(Schema.String.annotations({
    description: "The ETag of the version the client has: 304 while it is current"
  }))
})

export const IfMatch = Schema.Struct({
  "if-match": Schema.optional(Schema.String.annotations({
    description: "ETags the task must still have (or `*`); otherwise 412 and nothing changes"
  }))
})

export const IdempotencyKey = Schema.String.pipe(
  Schema.filter((text) => /^[\x21-\x7e]{1,255}$/.test(text), rule({ constraint: "type", expected: "1 to 255 visible ASCII characters" }))
).annotations({
  description: "Makes a retried create safe: a repeat with the same key and body within 24 hours answers as the first"
})

export const CreateHeaders = Schema.Struct({ "idempotency-key": Schema.optional(IdempotencyKey) })
