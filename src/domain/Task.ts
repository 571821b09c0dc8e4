import { Schema } from "effect"
import { TaskId, UserId } from "./Ids.ts"
import { rule } from "./Validation.ts"

export const TITLE_MAX_LENGTH = 500
export const DESCRIPTION_MAX_LENGTH = 5000

/** Lengths count code points, as JSON Schema's `maxLength` and PostgreSQL's `varchar(n)` do. */
const codePointLength = (text: string): number => {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    length++
  }
  return length
}

const maxCodePoints = (max: number) =>
  Schema.filter<typeof Schema.String>(
    // Fewer UTF-16 units than the limit can never be more code points.
    (text) => text.length <= max || codePointLength(text) <= max,
    { ...rule({ constraint: "max_length", max }), jsonSchema: { maxLength: max } }
  )

/**
 * Text PostgreSQL can store and give back unchanged: no NUL (PostgreSQL rejects it) and
 * no unpaired surrogate (UTF-8 cannot encode one, so it would come back altered).
 */
const storable = Schema.filter<typeof Schema.String>(
  (text) => !text.includes("\u0000") && text.isWellFormed(),
  rule({ constraint: "type", expected: "text without NUL characters or unpaired surrogates" })
)

/** Unicode White_Space, the same set the `tasks_title_not_blank` CHECK constraint names. */
const whiteSpace = "\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
const blank = new RegExp(`^[${whiteSpace}]*$`)

const string = Schema.String.annotations(rule({ constraint: "type", expected: "a string" }))

export const Title = string.pipe(
  Schema.filter((text) => !blank.test(text), {
    ...rule({ constraint: "non_empty" }),
    jsonSchema: { minLength: 1, pattern: `[^${whiteSpace}]` }
  }),
  maxCodePoints(TITLE_MAX_LENGTH),
  storable
).annotations({ description: "1 to 500 characters, not only white space" })

const DescriptionText = string.pipe(maxCodePoints(DESCRIPTION_MAX_LENGTH), storable)

export const Description = Schema.NullOr(DescriptionText).annotations({
  ...rule({ constraint: "type", expected: "a string or null" }),
  description: "At most 5000 characters, or null"
})

const Completed = Schema.Boolean.annotations(rule({ constraint: "type", expected: "a boolean" }))

/** An instant in UTC, written as ISO 8601 with milliseconds (`Date.prototype.toISOString`). */
const Timestamp = Schema.Date.annotations({ jsonSchema: { type: "string", format: "date-time" } })

export const Task = Schema.Struct({
  id: TaskId,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  completed: Schema.Boolean,
  user_id: UserId,
  created_at: Timestamp,
  updated_at: Timestamp
}).annotations({ identifier: "Task" })
export interface Task extends Schema.Schema.Type<typeof Task> {}

const objectRule = rule({ constraint: "type", expected: "a JSON object" })

/** Unknown fields are dropped by decoding, so they can never set `id`, `user_id`, … */
export const CreateTask = Schema.Struct({
  title: Title,
  description: Schema.optionalWith(Description, { default: () => null })
}).annotations({ ...objectRule, identifier: "CreateTask" })
export interface CreateTask extends Schema.Schema.Type<typeof CreateTask> {}

/** A partial update: an absent field stays as it is; `description: null` clears it. */
export const UpdateTask = Schema.Struct({
  title: Schema.optionalWith(Title, { exact: true }),
  description: Schema.optionalWith(Description, { exact: true }),
  completed: Schema.optionalWith(Completed, { exact: true })
}).annotations({ ...objectRule, identifier: "UpdateTask" })
export interface UpdateTask extends Schema.Schema.Type<typeof UpdateTask> {}

export const TaskDeleted = Schema.Struct({
  message: Schema.Literal("Task deleted successfully")
}).annotations({ identifier: "TaskDeleted" })
