import type { Task } from "./Task.ts"

/**
 * Entity tags (RFC 9110 §8.8.3). A task's tag is its `updated_at`, which moves forward on every
 * change and only then, so the tag changes when and only when the task does; a list's tag is the
 * version the repository computes for its content. Tags are strong; an `If-Match` naming a weak
 * tag (`W/"…"`) never matches it.
 */
export const ofTask = (task: Task): string => `"t${task.updated_at.getTime().toString(36)}"`

export const ofList = (version: string): string => `"l${version}"`

interface Tag {
  readonly weak: boolean
  readonly opaque: string
}

const entityTag = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/

/** The tags of an `If-Match` / `If-None-Match` value; `"*"` for the wildcard. Malformed members are dropped. */
export const parse = (header: string): "*" | ReadonlyArray<Tag> => {
  if (header.trim() === "*") return "*"
  const tags: Array<Tag> = []
  for (const member of header.split(",")) {
    const match = entityTag.exec(member.trim())
    if (match !== null) tags.push({ weak: match[1] !== undefined, opaque: match[2]! })
  }
  return tags
}

/** `If-None-Match`: whether it names the current tag (weak comparison, RFC 9110 §13.1.2). */
export const noneMatch = (header: string | undefined, current: string): boolean => {
  if (header === undefined) return false
  const tags = parse(header)
  return tags === "*" || tags.some((tag) => `"${tag.opaque}"` === current)
}

/**
 * `If-Match` on a task: any existing task (`*`), or the `updated_at` instants its strong task tags
 * name (an empty list when none is usable: then no existing task matches).
 */
export const ifMatch = (header: string): { readonly _tag: "Any" } | { readonly _tag: "Versions"; readonly updatedAt: ReadonlyArray<Date> } => {
  const tags = parse(header)
  if (tags === "*") return { _tag: "Any" }
  const updatedAt: Array<Date> = []
  for (const tag of tags) {
    if (tag.weak || !/^t[0-9a-z]{1,12}$/.test(tag.opaque)) continue
    const millis = Number.parseInt(tag.opaque.slice(1), 36)
    if (Number.isSafeInteger(millis) && millis <= 8.64e15) updatedAt.push(new Date(millis))
  }
  return { _tag: "Versions", updatedAt }
}
