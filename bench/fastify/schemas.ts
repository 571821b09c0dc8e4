import type { FastifySchemaValidationError } from "fastify"
import { DESCRIPTION_MAX, MAX_ID, TITLE_MAX } from "../baseline/validate.ts"
import type { Field, Violation } from "../baseline/validate.ts"

/**
 * The route schemas of the Fastify target, as Fastify's documentation teaches: JSON Schema for
 * params and bodies (compiled by ajv), JSON Schema for responses (compiled by
 * fast-json-stringify). The rules and their wording are the baseline's, which are the service's.
 */

const id = { type: "integer", minimum: 1, maximum: MAX_ID } as const

export const userParams = {
  type: "object",
  required: ["user_id"],
  properties: { user_id: id }
} as const

export const taskParams = {
  type: "object",
  required: ["user_id", "task_id"],
  properties: { user_id: id, task_id: id }
} as const

// Unicode White_Space, the set of the CHECK constraint in migrations/0001: a title needs one
// character outside it. ajv compiles patterns with the `u` flag, so a class of surrogates
// matches only unpaired ones, which UTF-8 could not carry back unchanged. ajv runs `not` before
// the type's own keywords, so it names `type: "string"` itself: a number or a null must reach
// the type check, not fail here.
const NOT_BLANK = "[^\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]"
const UNSTORABLE = { type: "string", pattern: "[\\u0000\\uD800-\\uDFFF]" } as const

const title = { type: "string", maxLength: TITLE_MAX, pattern: NOT_BLANK, not: UNSTORABLE } as const
const description = { type: ["string", "null"], maxLength: DESCRIPTION_MAX, not: UNSTORABLE } as const

export const createBody = {
  type: "object",
  required: ["title"],
  properties: { title, description }
} as const

export const patchBody = {
  type: "object",
  properties: { title, description, completed: { type: "boolean" } }
} as const

const task = {
  type: "object",
  required: ["id", "title", "description", "completed", "user_id", "created_at", "updated_at"],
  properties: {
    id: { type: "integer" },
    title: { type: "string" },
    description: { type: ["string", "null"] },
    completed: { type: "boolean" },
    user_id: { type: "integer" },
    // fast-json-stringify writes a Date under this format with toISOString(): the contract's form.
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" }
  }
} as const

// Property order is the wire order: every kind of details comes out as the service writes it.
const envelope = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: {
          type: "object",
          properties: {
            field: { type: "string" },
            constraint: { type: "string" },
            expected: { type: "string" },
            min: { type: "integer" },
            max: { type: "integer" }
          }
        }
      }
    }
  }
} as const

const errors = { "4xx": envelope, "5xx": envelope } as const

export const responses = {
  task: { 200: task, ...errors },
  created: { 201: task, ...errors },
  list: { 200: { type: "array", items: task }, ...errors },
  deleted: { 200: { type: "object", properties: { message: { type: "string" } } }, ...errors },
  health: { 200: { type: "object", properties: { status: { type: "string" } } } }
} as const

const fieldNames: ReadonlySet<string> = new Set<Field>(["title", "description", "completed", "user_id", "task_id"])
const isField = (name: unknown): name is Field => typeof name === "string" && fieldNames.has(name)

const expected: Record<Field, string> = {
  title: "a string",
  description: "a string or null",
  completed: "a boolean",
  user_id: "an integer",
  task_id: "an integer",
  body: "a JSON object"
}

/**
 * The first ajv error (the target's ajv instances stop at the first) as the contract's violation. ajv checks
 * `required` before `properties`, and properties in schema order, so the field named first is
 * the one the service names.
 */
export const violationOf = (error: FastifySchemaValidationError | undefined): Violation => {
  if (error === undefined) return { field: "body", constraint: "type", expected: expected.body }
  if (error.keyword === "required") {
    const missing = error.params.missingProperty
    return { field: isField(missing) ? missing : "body", constraint: "required" }
  }
  const key = error.instancePath.split("/")[1]
  const field: Field = isField(key) ? key : "body"
  switch (error.keyword) {
    case "maxLength":
      return { field, constraint: "max_length", max: field === "title" ? TITLE_MAX : DESCRIPTION_MAX }
    case "pattern":
      return { field, constraint: "non_empty" }
    case "not":
      return { field, constraint: "type", expected: "text without NUL characters or unpaired surrogates" }
    case "minimum":
    case "maximum":
      return { field, constraint: "range", min: 1, max: MAX_ID }
    default:
      return { field, constraint: "type", expected: expected[field] }
  }
}
