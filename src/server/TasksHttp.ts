import { Chunk, Effect, Option, Stream } from "effect"
import type { TasksApi } from "../api/TasksApi.ts"
import { TaskNotFound } from "../domain/index.ts"
import { TaskRepository, type UpdateOutcome } from "../repository/TaskRepository.ts"
import type { GroupHandlers } from "../httpapi/Handlers.ts"

const orNotFound = <A, R>(found: Effect.Effect<Option.Option<A>, never, R>) =>
  Effect.flatMap(found, Option.match({ onNone: () => Effect.fail(new TaskNotFound()), onSome: Effect.succeed }))

/**
 * The tasks endpoints: decoding is done, so each is one repository call. (A bridge to the
 * version 2 repository with version 1 behaviour: no precondition, no key, the whole list
 * collected; the version 2 handlers replace it.)
 */
export const TasksHttp: GroupHandlers<typeof TasksApi, TaskRepository> = {
  list: ({ path }) =>
    Effect.flatMap(TaskRepository, (tasks) =>
      tasks.list(path.user_id, { completed: Option.none(), after: 0, limit: Option.none() })).pipe(
        Effect.flatMap((list) =>
          Option.match(list.rest, {
            onNone: () => Effect.succeed(list.head),
            onSome: (rest) => Effect.map(Stream.runCollect(rest), (more) => [...list.head, ...Chunk.toReadonlyArray(more)])
          })
        )
      ),
  create: ({ path, payload }) =>
    Effect.flatMap(TaskRepository, (tasks) => tasks.create(path.user_id, payload, Option.none())).pipe(
      Effect.flatMap((outcome) =>
        outcome._tag === "Created" || outcome._tag === "Replayed"
          ? Effect.succeed(outcome.task)
          : Effect.dieMessage(`A create without a key came back ${outcome._tag}`)
      )
    ),
  get: ({ path }) => orNotFound(Effect.flatMap(TaskRepository, (tasks) => tasks.get(path.user_id, path.task_id))),
  update: ({ path, payload }) =>
    orNotFound(
      Effect.flatMap(TaskRepository, (tasks) => tasks.update(path.user_id, path.task_id, payload, Option.none())).pipe(
        Effect.map((outcome: UpdateOutcome) => outcome._tag === "Updated" ? Option.some(outcome.task) : Option.none())
      )
    ),
  delete: ({ path }) =>
    Effect.flatMap(TaskRepository, (tasks) => tasks.remove(path.user_id, path.task_id, Option.none())).pipe(
      Effect.filterOrFail((outcome) => outcome === "Deleted", () => new TaskNotFound()),
      Effect.as({ message: "Task deleted successfully" as const })
    )
}
