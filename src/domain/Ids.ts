import { Schema } from "effect"
import { rule } from "./Validation.ts"

/** Ids are PostgreSQL `integer`s: anything outside 1..2^31-1 could never name a row. */
export const MIN_ID = 1
export const MAX_ID = 2_147_483_647

const idRange = <S extends Schema.Schema.Any>(self: S & Schema.Schema<number, Schema.Schema.Encoded<S>, Schema.Schema.Context<S>>) =>
  self.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= MIN_ID && n <= MAX_ID, {
      ...rule({ constraint: "range", min: MIN_ID, max: MAX_ID }),
      jsonSchema: { type: "integer", format: "int32", minimum: MIN_ID, maximum: MAX_ID }
    })
  )

export const UserId = Schema.Number.pipe(idRange, Schema.brand("UserId")).annotations({
  identifier: "UserId",
  description: "The owner of a task"
})
export type UserId = typeof UserId.Type

export const TaskId = Schema.Number.pipe(idRange, Schema.brand("TaskId")).annotations({
  identifier: "TaskId",
  description: "A task, unique across all users"
})
export type TaskId = typeof TaskId.Type

/**
 * A path segment that spells an integer in decimal. `-1` and `99999999999` are integers
 * out of range; `abc`, `1.5`, `1e3` and `+1` are not integers at all.
 */
const IntegerFromPath = Schema.compose(
  Schema.String.pipe(
    Schema.filter((text) => /^-?[0-9]+$/.test(text), {
      ...rule({ constraint: "type", expected: "an integer" })
    })
  ),
  Schema.NumberFromString
)

const fromPath = <A>(id: Schema.Schema<A, number>, description: string) =>
  Schema.compose(IntegerFromPath, id).annotations({
    description,
    jsonSchema: { type: "integer", format: "int32", minimum: MIN_ID, maximum: MAX_ID }
  })

export const UserIdFromPath = fromPath(UserId, "The owner of the tasks")
export const TaskIdFromPath = fromPath(TaskId, "The task")
