import { Option } from "effect"
import type { Task } from "../../src/domain/index.ts"
import type { ListQuery, Precondition } from "../../src/repository/TaskRepository.ts"

/** Every task of the owner, as version 1 lists them. */
export const everything: ListQuery = { completed: Option.none(), after: 0, limit: Option.none() }

/** An If-Match naming these tasks' current versions. */
export const versions = (...tasks: ReadonlyArray<Task>): Option.Option<Precondition> =>
  Option.some({ _tag: "Versions", updatedAt: tasks.map((task) => task.updated_at) })
