import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { DatabaseConfig, LogConfig } from "./AppConfig.ts"
import { migrateDatabase } from "./database/Database.ts"
import { makeLogging } from "./Logging.ts"
import { exitOnInvalidConfig, exitOnStartupFailure } from "./Startup.ts"

/**
 * `npm run migrate`: applies pending migrations to the configured database (as
 * MIGRATION_DATABASE_URL when set; the owner role on the embedded PostgreSQL), then exits.
 */
const program = Effect.gen(function*() {
  const config = yield* DatabaseConfig
  const logging = makeLogging(yield* LogConfig)
  yield* migrateDatabase(config).pipe(
    Effect.zipRight(Effect.logInfo("The schema is up to date")),
    exitOnStartupFailure,
    Effect.provide(logging)
  )
})

program.pipe(exitOnInvalidConfig, NodeRuntime.runMain({ disablePrettyLogger: true }))
