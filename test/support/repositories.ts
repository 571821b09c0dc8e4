import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, type Redacted } from "effect"
import { pgLayer } from "../../src/database/Database.ts"
import { MigratorLive } from "../../src/database/Migrator.ts"
import type { TaskRepository } from "../../src/repository/TaskRepository.ts"
import { TaskRepositoryMemory } from "../../src/repository/TaskRepositoryMemory.ts"
import { TaskRepositorySql } from "../../src/repository/TaskRepositorySql.ts"
import { freshDatabaseUrl } from "./postgres.ts"

/**
 * The PostgreSQL repository on a database of its own: every build of this layer creates a
 * new database on the test server, migrates it, and drops it when released.
 */
export const PgRepository: Layer.Layer<TaskRepository> = Layer.unwrapScoped(
  Effect.map(freshDatabaseUrl, (url) =>
    TaskRepositorySql.pipe(
      Layer.provide(MigratorLive),
      Layer.provide(pgLayer(url, { poolSize: 10, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })),
      Layer.provide(NodeContext.layer)
    ))
).pipe(Layer.orDie)

/**
 * The PostgreSQL repository on the database at `url` (migrated), with its pool's SqlClient for
 * the test to look behind it; a short `queryTimeout` makes a write stuck on a lock fail fast.
 */
export const pgRepositoryOn = (
  url: Redacted.Redacted<string>,
  options: { readonly queryTimeout?: Duration.Duration; readonly poolSize?: number } = {}
): Layer.Layer<TaskRepository | SqlClient.SqlClient> =>
  TaskRepositorySql.pipe(
    Layer.provide(MigratorLive),
    Layer.provideMerge(pgLayer(url, {
      poolSize: options.poolSize ?? 10,
      connectTimeout: Duration.seconds(5),
      queryTimeout: options.queryTimeout ?? Duration.seconds(5)
    })),
    Layer.provide(NodeContext.layer),
    Layer.orDie
  )

/** Every repository implementation, for suites that must hold for each. */
export const repositories: ReadonlyArray<readonly [string, Layer.Layer<TaskRepository>]> = [
  ["memory", TaskRepositoryMemory],
  ["postgres", PgRepository]
]
