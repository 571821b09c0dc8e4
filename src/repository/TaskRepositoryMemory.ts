import { Effect, Layer, Option } from "effect"
import { type Task, TaskId, type UserId } from "../domain/index.ts"
import { TaskRepository } from "./TaskRepository.ts"

/** Later than `previous` by at least a millisecond, as the PostgreSQL trigger does. */
const after = (previous: Date): Date => new Date(Math.max(Date.now(), previous.getTime() + 1))

/**
 * The repository in process memory, for tests and for trying the API without a
 * database. Every build of the layer starts empty. Each operation runs synchronously
 * from start to end, so no two requests ever interleave inside one.
 */
export const TaskRepositoryMemory = Layer.sync(TaskRepository, () => {
  const tasks = new Map<TaskId, Task>()
  let nextId = 1

  const owned = (owner: UserId, id: TaskId): Option.Option<Task> => {
    const task = tasks.get(id)
    return task !== undefined && task.user_id === owner ? Option.some(task) : Option.none()
  }

  return TaskRepository.of({
    list: (owner) =>
      Effect.sync(() => [...tasks.values()].filter((task) => task.user_id === owner)),
    get: (owner, id) => Effect.sync(() => owned(owner, id)),
    create: (owner, input) =>
      Effect.sync(() => {
        const now = new Date()
        const task: Task = {
          id: TaskId.make(nextId++),
          title: input.title,
          description: input.description,
          completed: false,
          user_id: owner,
          created_at: now,
          updated_at: now
        }
        tasks.set(task.id, task)
        return task
      }),
    update: (owner, id, patch) =>
      Effect.sync(() =>
        Option.map(owned(owner, id), (task) => {
          const next = {
            ...task,
            ...(patch.title !== undefined ? { title: patch.title } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            ...(patch.completed !== undefined ? { completed: patch.completed } : {})
          }
          const changed = next.title !== task.title || next.description !== task.description ||
            next.completed !== task.completed
          if (!changed) return task
          const updated: Task = { ...next, updated_at: after(task.updated_at) }
          tasks.set(id, updated)
          return updated
        })
      ),
    remove: (owner, id) => Effect.sync(() => Option.isSome(owned(owner, id)) && tasks.delete(id)),
    ping: Effect.void
  })
})
