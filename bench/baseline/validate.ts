import type { TaskPatch } from "./sql.ts"

/**
 * Hand-written validation for the baseline. It mirrors the service's rules and wording
 * (src/domain/Validation.ts) closely enough to be a fair opponent; the load scenarios only
 * send valid requests, so what matters for the numbers is that the checks are really done.
 */
export type Field = "title" | "description" | "completed" | "user_id" | "task_id" | "body"

export type Violation =
  | { readonly field: Field; readonly constraint: "required" | "non_empty" | "json" }
  | { readonly field: Field; readonly constraint: "max_length"; readonly max: number }
  | { readonly field: Field; readonly constraint: "type"; readonly expected: string }
  | { readonly field: Field; readonly constraint: "range"; readonly min: number; readonly max: number }

export type Decoded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly violation: Violation }

const labels: Record<Field, string> = {
  title: "Task title",
  description: "Task description",
  completed: "Task completion flag",
  user_id: "User id",
  task_id: "Task id",
  body: "Request body"
}

export const describe = (violation: Violation): string => {
  const label = labels[violation.field]
  switch (violation.constraint) {
    case "required":
    case "non_empty":
      return `${label} is required`
    case "max_length":
      return `${label} must be at most ${violation.max} characters long`
    case "type":
      return `${label} must be ${violation.expected}`
    case "json":
      return `${label} is not valid JSON`
    case "range":
      return `${label} must be an integer between ${violation.min} and ${violation.max}`
  }
}

export const MAX_ID = 2_147_483_647
export const TITLE_MAX = 500
export const DESCRIPTION_MAX = 5000

const ok = <A>(value: A): Decoded<A> => ({ ok: true, value })
const fail = (violation: Violation): Decoded<never> => ({ ok: false, violation })

export const decodeId = (text: string, field: "user_id" | "task_id"): Decoded<number> => {
  if (!/^-?[0-9]+$/.test(text)) return fail({ field, constraint: "type", expected: "an integer" })
  const value = Number(text)
  if (value < 1 || value > MAX_ID) return fail({ field, constraint: "range", min: 1, max: MAX_ID })
  return ok(value)
}

// Unicode White_Space, the same set as the CHECK constraint in the first migration
// (JavaScript's \s differs: it has U+FEFF and lacks U+0085).
const BLANK = /^[\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$/

/** Lengths are in code points, like varchar(n); UTF-16 length is an upper bound, so count only when it could matter. */
const codePoints = (text: string, max: number): number => {
  if (text.length <= max) return text.length
  let count = 0
  for (const _ of text) count++
  return count
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const checkText = (field: Field, value: string, max: number): Violation | undefined => {
  if (codePoints(value, max) > max) return { field, constraint: "max_length", max }
  // PostgreSQL cannot store U+0000, and UTF-8 cannot carry a lone surrogate back unchanged.
  if (value.includes("\u0000") || LONE_SURROGATE.test(value)) {
    return { field, constraint: "type", expected: "text without NUL characters or unpaired surrogates" }
  }
  return undefined
}

const checkTitle = (value: unknown): Decoded<string> => {
  if (value === undefined) return fail({ field: "title", constraint: "required" })
  if (typeof value !== "string") return fail({ field: "title", constraint: "type", expected: "a string" })
  if (BLANK.test(value)) return fail({ field: "title", constraint: "non_empty" })
  const broken = checkText("title", value, TITLE_MAX)
  return broken ? fail(broken) : ok(value)
}

const checkDescription = (value: unknown): Decoded<string | null> => {
  if (value === null) return ok(null)
  if (typeof value !== "string") return fail({ field: "description", constraint: "type", expected: "a string or null" })
  const broken = checkText("description", value, DESCRIPTION_MAX)
  return broken ? fail(broken) : ok(value)
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const parseObject = (text: string): Decoded<Record<string, unknown>> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return fail({ field: "body", constraint: "json" })
  }
  return isRecord(parsed) ? ok(parsed) : fail({ field: "body", constraint: "type", expected: "a JSON object" })
}

export const decodeCreate = (text: string): Decoded<{ title: string; description: string | null }> => {
  const body = parseObject(text)
  if (!body.ok) return body
  const title = checkTitle(body.value.title)
  if (!title.ok) return title
  const description = body.value.description === undefined ? ok(null) : checkDescription(body.value.description)
  if (!description.ok) return description
  return ok({ title: title.value, description: description.value })
}

export const decodePatch = (text: string): Decoded<TaskPatch> => {
  const body = parseObject(text)
  if (!body.ok) return body
  const { title, description, completed } = body.value
  const patch: { title?: string; description?: string | null; completed?: boolean } = {}
  if (title !== undefined) {
    const checked = checkTitle(title)
    if (!checked.ok) return checked
    patch.title = checked.value
  }
  if (description !== undefined) {
    const checked = checkDescription(description)
    if (!checked.ok) return checked
    patch.description = checked.value
  }
  if (completed !== undefined) {
    if (typeof completed !== "boolean") return fail({ field: "completed", constraint: "type", expected: "a boolean" })
    patch.completed = completed
  }
  return ok(patch)
}
