/**
 * A process that holds an embedded cluster until it is killed, for the tests that SIGKILL it
 * (test/embedded.test.ts). Usage: node --import tsx test/support/embeddedHolder.ts <dataDir> <value>
 * Writes <value> into table `kept` with a committed transaction, then prints "ready" and waits.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Logger, LogLevel } from "effect"
import * as Embedded from "../../src/database/Embedded.ts"

const [dataDir, value] = process.argv.slice(2)

const hold = Effect.gen(function*() {
  if (dataDir === undefined || value === undefined) return yield* Effect.dieMessage("usage: embeddedHolder <dataDir> <value>")
  const database = yield* Embedded.start({ dataDir })
  yield* Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    yield* sql`CREATE TABLE IF NOT EXISTS kept (value text NOT NULL)`
    yield* sql.withTransaction(sql`INSERT INTO kept (value) VALUES (${value})`)
  }).pipe(Effect.provide(PgClient.layer({ url: database.ownerUrl })))
  process.stdout.write("ready\n")
  return yield* Effect.never
})

Effect.runFork(hold.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning), Effect.tapErrorCause(Effect.logError)))
