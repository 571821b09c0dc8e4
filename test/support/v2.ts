import { Effect } from "effect"
import type * as Http from "node:http"
import type { Task } from "../../src/domain/index.ts"
import { type Answer, asError, asTask, call, json } from "./http.ts"

/** Helpers of the version 2 black-box suites (lists, conditional requests, retried creates). */

const jsonType = { "content-type": "application/json" } as const

export const create = (base: string, user: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) =>
  call(base, "POST", `/users/${user}/tasks`, json(body), { ...jsonType, ...headers })

export const update = (base: string, user: number, id: number, body: unknown, headers: Http.OutgoingHttpHeaders = {}) =>
  call(base, "PUT", `/users/${user}/tasks/${id}`, json(body), { ...jsonType, ...headers })

export const remove = (base: string, user: number, id: number, headers: Http.OutgoingHttpHeaders = {}) =>
  call(base, "DELETE", `/users/${user}/tasks/${id}`, undefined, headers)

export const get = (base: string, user: number, id: number, headers: Http.OutgoingHttpHeaders = {}) =>
  call(base, "GET", `/users/${user}/tasks/${id}`, undefined, headers)

export const list = (base: string, user: number, query = "", headers: Http.OutgoingHttpHeaders = {}) =>
  call(base, "GET", `/users/${user}/tasks${query}`, undefined, headers)

/** `n` tasks of `user`, titled `#0`…, created a few at a time; returned ordered by id. */
export const seed = (base: string, user: number, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, k) => k),
    (k) =>
      Effect.map(create(base, user, { title: `#${k}` }), (answer) => {
        if (answer.status !== 201) throw new Error(`seeding: ${answer.status} ${answer.text}`)
        return asTask(answer)
      }),
    { concurrency: 8 }
  ).pipe(Effect.map((tasks) => [...tasks].sort((a, b) => a.id - b.id)))

/** Marks these tasks completed (200 each). */
export const complete = (base: string, tasks: ReadonlyArray<Task>) =>
  Effect.forEach(tasks, (task) =>
    Effect.map(update(base, task.user_id, task.id, { completed: true }), (answer) => {
      if (answer.status !== 200) throw new Error(`completing: ${answer.status} ${answer.text}`)
      return asTask(answer)
    }), { concurrency: 8 })

/** A single header's value (node joins repeated ones; these are never repeated). */
export const header = (answer: Answer, name: string): string | undefined => {
  const value = answer.headers[name]
  return Array.isArray(value) ? value.join(", ") : value
}

/** A strong entity tag: quoted, visible characters, no `W/`. */
export const strongTag = /^"[\x21\x23-\x7e]+"$/

/** The envelope of a validation error, with the field and constraint it names. */
export const violation = (answer: Answer) => {
  const error = asError(answer)
  return { status: answer.status, code: error.code, ...(error.details ?? {}) }
}

/** The headers that must agree between two answers to the same request (GET vs HEAD, say). */
export const comparable = (answer: Answer): Record<string, unknown> => {
  const { date: _date, "x-request-id": _id, ...rest } = answer.headers
  return rest
}
