import { Context, type Effect, type Option } from "effect"
import type { CreateTask, Task, TaskId, UpdateTask, UserId } from "../domain/index.ts"

/**
 * Where tasks live. Every method takes the owner first: a query that forgets the owner
 * does not type-check, and a task of another user is simply absent.
 *
 * Infrastructure failures (a lost connection, a broken constraint) are defects here:
 * callers cannot act on them, and the edge of the server answers them with a 500 and
 * logs their full cause.
 */
export interface TaskRepositoryShape {
  readonly list: (owner: UserId) => Effect.Effect<ReadonlyArray<Task>>
  readonly get: (owner: UserId, id: TaskId) => Effect.Effect<Option.Option<Task>>
  /** Creates the owner on their first task, race-free. */
  readonly create: (owner: UserId, input: CreateTask) => Effect.Effect<Task>
  /** Applies the fields present in `patch`; an empty patch returns the task unchanged. */
  readonly update: (owner: UserId, id: TaskId, patch: UpdateTask) => Effect.Effect<Option.Option<Task>>
  /** `true` when a task was deleted. */
  readonly remove: (owner: UserId, id: TaskId) => Effect.Effect<boolean>
  /** Succeeds when the store answers; used by the readiness probe. */
  readonly ping: Effect.Effect<void, unknown>
}

export class TaskRepository extends Context.Tag("TaskRepository")<TaskRepository, TaskRepositoryShape>() {}
