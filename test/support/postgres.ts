/**
 * PostgreSQL for tests.
 *
 * - `freshDatabaseUrl`: a brand-new, empty database on the test server (TEST_DATABASE_URL, or the
 *   embedded cluster that `globalSetup.ts` starts once per run), dropped when the scope closes.
 *   Every test or suite that takes one is isolated from all others, whatever runs in parallel.
 * - `temporaryDataDir` and `embeddedServiceEnv`: for tests that start the service as a separate
 *   process on its own embedded database (persistence across SIGKILL and restart):
 *
 *     const dataDir = yield* temporaryDataDir
 *     spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { env: embeddedServiceEnv(dataDir, { PORT: "0" }) })
 *
 *   The child gets DATA_DIR=<dataDir> and no DATABASE_URL, so it runs on an embedded cluster kept
 *   in that directory; a second child with the same directory reopens the same data.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Option, Redacted, Schema, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { inject } from "vitest"
import * as Embedded from "../../src/database/Embedded.ts"

export class TestDatabaseError extends Schema.TaggedError<TestDatabaseError>()("TestDatabaseError", {
  message: Schema.String
}) {}

// CREATE/DROP DATABASE refuse to run inside a transaction block; one plain connection is enough.
const adminStatement = (adminUrl: string, statement: string): Effect.Effect<void, TestDatabaseError> =>
  Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe(statement)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 })),
    Effect.asVoid,
    Effect.mapError((error) => new TestDatabaseError({ message: `${statement}: ${error.message}` }))
  )

/** A new database on the test server, dropped (WITH (FORCE)) when the scope closes. */
export const freshDatabaseUrl: Effect.Effect<Redacted.Redacted<string>, TestDatabaseError, Scope.Scope> = Effect.gen(
  function*() {
    const adminUrl = inject("postgresAdminUrl")
    if (adminUrl === undefined) {
      return yield* new TestDatabaseError({
        message: "No test PostgreSQL: run the tests with vitest.config.ts, whose globalSetup provides one"
      })
    }
    // Unique across parallel workers and runs sharing a server; lower case needs no quoting.
    const name = `test_${Crypto.randomBytes(8).toString("hex")}`
    yield* Effect.acquireRelease(
      adminStatement(adminUrl, `CREATE DATABASE ${name}`),
      () =>
        adminStatement(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(
          Effect.catchAll((error) => Effect.logWarning(`Could not drop test database ${name}: ${error.message}`))
        )
    )
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return Redacted.make(url.toString())
  }
)

// Node's timer rather than Effect.sleep: this must wait in real time even under a TestClock.
const pause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Polls until `done` holds or `millis` have passed; returns whether it held. */
export const eventually = (done: Effect.Effect<boolean>, millis: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    while (Date.now() < deadline) {
      if (yield* done) return true
      yield* pause(50)
    }
    return yield* done
  })

/**
 * A path for DATA_DIR that does not exist yet, inside a new temporary directory. When the scope
 * closes it waits (up to 15 s) for any server still holding the data to stop — a SIGKILLed
 * service's watchdog may still be shutting it down — and removes the directory.
 */
export const temporaryDataDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const parent = await Fs.mkdtemp(Path.join(Os.tmpdir(), "tasks-data-"))
    // mkdtemp gives 0700; as root the server runs as another user, which must reach the data inside.
    await Fs.chmod(parent, 0o711)
    return Path.join(parent, "data")
  }),
  (dataDir) =>
    eventually(Effect.map(Embedded.runningServer(dataDir), Option.isNone), 15_000).pipe(
      Effect.andThen(Effect.promise(() => Fs.rm(Path.dirname(dataDir), { recursive: true, force: true })))
    )
)

/**
 * The environment for a service process on the embedded database in `dataDir`: DATA_DIR set,
 * DATABASE_URL and TEST_DATABASE_URL removed so that it cannot pick a server instead.
 */
export const embeddedServiceEnv = (dataDir: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const { DATABASE_URL: _database, TEST_DATABASE_URL: _test, ...inherited } = process.env
  return { ...inherited, ...extra, DATA_DIR: dataDir }
}
