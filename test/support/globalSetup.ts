/**
 * Decides, once per `vitest run`, which PostgreSQL server the PostgreSQL tests create their
 * databases on (see `postgres.ts`): the server in TEST_DATABASE_URL (CI sets it), or else one
 * embedded cluster in a temporary directory, started here and stopped and removed in teardown.
 * One cluster for the whole run rather than one per file: initdb costs more than CREATE DATABASE.
 */
import { Cause, Effect, Exit, Logger, LogLevel, Redacted, Scope } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { TestProject } from "vitest/node"
import * as Embedded from "../../src/database/Embedded.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser URL of the server that PostgreSQL tests create their databases on. */
    readonly postgresAdminUrl?: string
  }
}

// What to show of a URL: never its password.
const where = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "(unparsable URL)"
  }
}

export const setup = async (project: TestProject): Promise<() => Promise<void>> => {
  const serverUrl = process.env["TEST_DATABASE_URL"]
  if (serverUrl !== undefined && serverUrl !== "") {
    project.provide("postgresAdminUrl", serverUrl)
    console.log(`PostgreSQL tests run on the server at ${where(serverUrl)} (TEST_DATABASE_URL)`)
    return async () => undefined
  }

  const parent = await Fs.mkdtemp(Path.join(Os.tmpdir(), "tasks-test-postgres-"))
  // mkdtemp gives 0700; as root the server runs as another user, which must reach the data inside.
  await Fs.chmod(parent, 0o711)
  const scope = Effect.runSync(Scope.make())
  const stop = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Fs.rm(parent, { recursive: true, force: true })
  }
  const started = await Effect.runPromiseExit(
    Embedded.start({ dataDir: Path.join(parent, "data") }).pipe(
      Scope.extend(scope),
      // The service's start-up lines are noise here; the line below says what matters.
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  )
  if (Exit.isFailure(started)) {
    await stop()
    throw new Error(`Could not start the embedded PostgreSQL for the tests: ${Cause.pretty(started.cause)}`)
  }
  project.provide("postgresAdminUrl", Redacted.value(started.value.adminUrl))
  console.log(
    `PostgreSQL tests run on an embedded PostgreSQL at 127.0.0.1:${started.value.port} ` +
      "(set TEST_DATABASE_URL to use a server instead)"
  )
  return stop
}
