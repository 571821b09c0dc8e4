import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { AppConfig } from "./AppConfig.ts"
import { makeDatabase } from "./database/Database.ts"
import { AccountRepositorySql } from "./identity/AccountRepositorySql.ts"
import { identityLayer } from "./identity/Http.ts"
import { makeLogging } from "./Logging.ts"
import * as Operations from "./operations/Operations.ts"
import { TaskRepositorySql } from "./repository/TaskRepositorySql.ts"
import { makeHttpServer } from "./server/HttpServer.ts"
import { exitOnInvalidConfig, exitOnStartupFailure } from "./Startup.ts"

/**
 * The composition root. Configuration is read and checked first, as a whole; then the
 * database is reached (or the embedded one started) and migrated, as its owner; identity (by
 * the AUTH_* mode) and the repositories on top of it; the HTTP server last, so it only listens
 * once everything it needs is ready. Traces and metrics (when configured) wrap it all.
 */
const program = Effect.gen(function*() {
  const config = yield* AppConfig
  const main = makeHttpServer(config.server, config.auth.mode).pipe(
    Layer.provide(Layer.mergeAll(TaskRepositorySql, identityLayer(config.auth.mode, AccountRepositorySql), Operations.poolLayer)),
    Layer.provide(makeDatabase(config.database)),
    // Outermost, so that every layer inside is built with its tracer and observers.
    Layer.provide(Operations.layer(config))
  )
  return yield* Layer.launch(main).pipe(exitOnStartupFailure, Effect.provide(makeLogging(config.log)))
})

program.pipe(exitOnInvalidConfig, NodeRuntime.runMain({ disablePrettyLogger: true }))
