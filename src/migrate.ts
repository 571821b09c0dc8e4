import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { LoggingLive } from "./Logging.ts"
import { DatabaseLive } from "./database/Database.ts"
import { migrate } from "./database/Migrator.ts"
import { exitOnInvalidConfig } from "./Startup.ts"

/** `npm run migrate`: applies pending migrations to the configured database, then exits. */
migrate.pipe(
  Effect.tap((applied) =>
    Effect.logInfo(
      applied.length === 0
        ? "Nothing to migrate: the schema is up to date"
        : `Applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`
    )
  ),
  Effect.provide(Layer.provideMerge(DatabaseLive, NodeContext.layer)),
  Effect.provide(LoggingLive),
  exitOnInvalidConfig,
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
