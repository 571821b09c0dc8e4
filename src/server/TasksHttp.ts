import { Effect, Option } from "effect"
import type { TasksApi } from "../api/TasksApi.ts"
import { TaskNotFound } from "../domain/index.ts"
import { TaskRepository } from "../repository/TaskRepository.ts"
import type { GroupHandlers } from "../httpapi/Handlers.ts"

const orNotFound = <A, R>(found: Effect.Effect<Option.Option<A>, never, R>) =>
  Effect.flatMap(found, Option.match({ onNone: () => Effect.fail(new TaskNotFound()), onSome: Effect.succeed }))

/** The tasks endpoints: decoding is done, so each is one repository call. */
export const TasksHttp: GroupHandlers<typeof TasksApi, TaskRepository> = {
  list: ({ path }) => Effect.flatMap(TaskRepository, (tasks) => tasks.list(path.user_id)),
  create: ({ path, payload }) => Effect.flatMap(TaskRepository, (tasks) => tasks.create(path.user_id, payload)),
  get: ({ path }) => orNotFound(Effect.flatMap(TaskRepository, (tasks) => tasks.get(path.user_id, path.task_id))),
  update: ({ path, payload }) =>
    orNotFound(Effect.flatMap(TaskRepository, (tasks) => tasks.update(path.user_id, path.task_id, payload))),
  delete: ({ path }) =>
    Effect.flatMap(TaskRepository, (tasks) => tasks.remove(path.user_id, path.task_id)).pipe(
      Effect.filterOrFail((deleted) => deleted, () => new TaskNotFound()),
      Effect.as({ message: "Task deleted successfully" as const })
    )
}
