import { Clock, Effect, Layer, Option } from "effect"
import { type Task, TaskId, type UserId } from "../domain/index.ts"
import { listVersion } from "../domain/Versions.ts"
import { IDEMPOTENCY_KEY_LIFETIME_MILLIS, satisfies, TaskRepository } from "./TaskRepository.ts"

/** Later than `previous` by at least a millisecond, as the PostgreSQL trigger does. */
const after = (previous: Date): Date => new Date(Math.max(Date.now(), previous.getTime() + 1))

interface StoredKey {
  readonly fingerprint: string
  readonly task: Task
  readonly storedAt: number
}

/**
 * The repository in process memory, for tests and for trying the API without a
 * database. Every build of the layer starts empty. Each operation runs synchronously
 * from start to end, so no two requests ever interleave inside one (so a create with a
 * key is never seen in flight: KeyInUse does not happen here). Idempotency keys expire by
 * Effect's `Clock`, so a test can move time on; each keyed create drops a few expired ones.
 */
export const TaskRepositoryMemory = Layer.sync(TaskRepository, () => {
  const tasks = new Map<TaskId, Task>()
  const keys = new Map<string, StoredKey>()
  let nextId = 1

  /** Drops a few expired keys, oldest first: bounded work per create, and the map cannot grow without end. */
  const forgetExpired = (now: number) => {
    let dropped = 0
    for (const [slot, stored] of keys) {
      if (now - stored.storedAt < IDEMPOTENCY_KEY_LIFETIME_MILLIS || dropped === 100) return
      keys.delete(slot)
      dropped++
    }
  }

  const owned = (owner: UserId, id: TaskId): Option.Option<Task> => {
    const task = tasks.get(id)
    return task !== undefined && task.user_id === owner ? Option.some(task) : Option.none()
  }

  return TaskRepository.of({
    list: (owner, query) =>
      Effect.sync(() => {
        // Map iteration is insertion order, which is id order: ids only grow.
        const matching: Array<Task> = []
        const limit = Option.getOrElse(query.limit, () => Infinity)
        let hasMore = false
        for (const task of tasks.values()) {
          if (task.user_id !== owner || task.id <= query.after) continue
          if (Option.isSome(query.completed) && task.completed !== query.completed.value) continue
          if (matching.length === limit) {
            hasMore = true
            break
          }
          matching.push(task)
        }
        return { version: listVersion(matching, hasMore), head: matching, hasMore, rest: Option.none() }
      }),
    get: (owner, id) => Effect.sync(() => owned(owner, id)),
    create: (owner, input, idempotency) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          // A JSON array cannot be spelled by two different (owner, key) pairs.
          const slot = Option.map(idempotency, ({ key }) => JSON.stringify([owner, key]))
          if (Option.isSome(idempotency) && Option.isSome(slot)) {
            const stored = keys.get(slot.value)
            if (stored !== undefined && now - stored.storedAt < IDEMPOTENCY_KEY_LIFETIME_MILLIS) {
              return stored.fingerprint === idempotency.value.fingerprint
                ? { _tag: "Replayed" as const, task: stored.task }
                : { _tag: "KeyReused" as const }
            }
          }
          const created = new Date()
          const task: Task = {
            id: TaskId.make(nextId++),
            title: input.title,
            description: input.description,
            completed: false,
            user_id: owner,
            created_at: created,
            updated_at: created
          }
          tasks.set(task.id, task)
          if (Option.isSome(idempotency) && Option.isSome(slot)) {
            // Deleted first so that the map stays in storage order, oldest first.
            keys.delete(slot.value)
            keys.set(slot.value, { fingerprint: idempotency.value.fingerprint, task, storedAt: now })
            forgetExpired(now)
          }
          return { _tag: "Created" as const, task }
        })),
    update: (owner, id, patch, precondition) =>
      Effect.sync(() => {
        const found = owned(owner, id)
        if (Option.isNone(found)) return { _tag: "NotFound" as const }
        const task = found.value
        if (!satisfies(task, precondition)) return { _tag: "PreconditionFailed" as const }
        const next = {
          ...task,
          ...(patch.title !== undefined ? { title: patch.title } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.completed !== undefined ? { completed: patch.completed } : {})
        }
        const changed = next.title !== task.title || next.description !== task.description ||
          next.completed !== task.completed
        if (!changed) return { _tag: "Updated" as const, task }
        const updated: Task = { ...next, updated_at: after(task.updated_at) }
        tasks.set(id, updated)
        return { _tag: "Updated" as const, task: updated }
      }),
    remove: (owner, id, precondition) =>
      Effect.sync(() => {
        const found = owned(owner, id)
        if (Option.isNone(found)) return "NotFound"
        if (!satisfies(found.value, precondition)) return "PreconditionFailed"
        tasks.delete(id)
        return "Deleted"
      }),
    ping: Effect.void
  })
})
