import { Context, type Effect, type Option, type Stream } from "effect"
import type { CreateTask, Task, TaskId, UpdateTask, UserId } from "../domain/index.ts"

/** Which tasks a list names, ordered by id. */
export interface ListQuery {
  /** Only tasks in this state. */
  readonly completed: Option.Option<boolean>
  /** Only ids greater than this (0: from the start). */
  readonly after: number
  /** At most this many tasks (a page); none: every matching task. */
  readonly limit: Option.Option<number>
}

export interface TaskList {
  /**
   * Identifies the content of the whole list (no limit) or of this page (limit): it changes
   * whenever a task in it changes, is added or removed, and is equal when nothing changed.
   * An opaque short string of letters and digits (no quotes).
   */
  readonly version: string
  /** The first tasks, ordered by id: all of them when `rest` is none; with a limit, at most `limit`. */
  readonly head: ReadonlyArray<Task>
  /** With a limit: whether more tasks match after the last one of `head`. */
  readonly hasMore: boolean
  /**
   * Without a limit, for a list too long for one page: the tasks after `head`, read page by
   * page only as the consumer pulls them, so memory stays bounded and no pooled connection is
   * held while a client reads slowly. A task changed meanwhile may appear in either state.
   */
  readonly rest: Option.Option<Stream.Stream<Task>>
}

/** What an `If-Match` asks: any existing task, or one whose `updated_at` is one of these. */
export type Precondition =
  | { readonly _tag: "Any" }
  | { readonly _tag: "Versions"; readonly updatedAt: ReadonlyArray<Date> }

export interface Idempotency {
  readonly key: string
  /** Identifies the request's body: equal bodies, equal fingerprints. */
  readonly fingerprint: string
}

export type CreateOutcome =
  | { readonly _tag: "Created"; readonly task: Task }
  /** An earlier create with this key and fingerprint: the task as it was created then. */
  | { readonly _tag: "Replayed"; readonly task: Task }
  /** The key was used (within 24 h) with another fingerprint. */
  | { readonly _tag: "KeyReused" }
  /** The first create with this key is still in flight. */
  | { readonly _tag: "KeyInUse" }

export type UpdateOutcome =
  | { readonly _tag: "Updated"; readonly task: Task }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "PreconditionFailed" }

export type RemoveOutcome = "Deleted" | "NotFound" | "PreconditionFailed"

/** How long an idempotency key holds its answer. */
export const IDEMPOTENCY_KEY_LIFETIME_MILLIS = 24 * 60 * 60 * 1000

/** Whether a task satisfies a precondition (a task of another owner never gets this far). */
export const satisfies = (task: Task, precondition: Option.Option<Precondition>): boolean => {
  if (precondition._tag === "None" || precondition.value._tag === "Any") return true
  const current = task.updated_at.getTime()
  return precondition.value.updatedAt.some((date) => date.getTime() === current)
}

/**
 * Where tasks live. Every method takes the owner first: a query that forgets the owner
 * does not type-check, and a task of another user is simply absent (never a failed
 * precondition, which would tell that it exists).
 *
 * Infrastructure failures (a lost connection, a broken constraint) are defects here:
 * callers cannot act on them, and the edge of the server answers them with a 500 and
 * logs their full cause.
 */
export interface TaskRepositoryShape {
  readonly list: (owner: UserId, query: ListQuery) => Effect.Effect<TaskList>
  readonly get: (owner: UserId, id: TaskId) => Effect.Effect<Option.Option<Task>>
  /** Creates the owner on their first task, race-free; with a key, at most once per key and 24 h. */
  readonly create: (owner: UserId, input: CreateTask, idempotency: Option.Option<Idempotency>) => Effect.Effect<CreateOutcome>
  /**
   * Applies the fields present in `patch` when the precondition holds, checked atomically
   * with the write. An empty patch changes nothing (but its precondition is checked).
   */
  readonly update: (
    owner: UserId,
    id: TaskId,
    patch: UpdateTask,
    precondition: Option.Option<Precondition>
  ) => Effect.Effect<UpdateOutcome>
  readonly remove: (owner: UserId, id: TaskId, precondition: Option.Option<Precondition>) => Effect.Effect<RemoveOutcome>
  /** Succeeds when the store answers; used by the readiness probe. */
  readonly ping: Effect.Effect<void, unknown>
}

export class TaskRepository extends Context.Tag("TaskRepository")<TaskRepository, TaskRepositoryShape>() {}
