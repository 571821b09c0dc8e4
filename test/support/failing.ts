import { Effect, Layer } from "effect"
import { TaskRepository } from "../../src/repository/TaskRepository.ts"

/** What a driver error looks like from the inside: SQL text, a class name, a file path. */
export class FakeDriverError extends Error {
  constructor() {
    super("relation \"tasks\" does not exist: SELECT secret FROM tasks /app/src/repository/TaskRepositorySql.ts")
    this.name = "PgDatabaseError"
  }
}

/** A repository whose every call dies the way a broken database makes it die. */
export const FailingRepository = Layer.succeed(
  TaskRepository,
  TaskRepository.of({
    list: () => Effect.die(new FakeDriverError()),
    get: () => Effect.die(new FakeDriverError()),
    create: () => Effect.die(new FakeDriverError()),
    update: () => Effect.die(new FakeDriverError()),
    remove: () => Effect.die(new FakeDriverError()),
    ping: Effect.fail(new FakeDriverError())
  })
)
