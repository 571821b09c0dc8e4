import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Logger, LogLevel, Option, Redacted, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Embedded from "../src/database/Embedded.ts"
import { embeddedServiceEnv, eventually, freshDatabaseUrl, temporaryDataDir } from "./support/postgres.ts"

// Bounded, and without the info lines a first start logs; warnings (a server left behind) stay.
const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeout("30 seconds"), Logger.withMinimumLogLevel(LogLevel.Warning))

const withSql = (url: Redacted.Redacted<string>) => PgClient.layer({ url, maxConnections: 8 })

const keptValues = Effect.flatMap(PgClient.PgClient, (sql) => sql<{ readonly value: string }>`SELECT value FROM kept`).pipe(
  Effect.map((rows) => rows.map((row) => row.value))
)

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    // An exited process waiting to be reaped still answers signals: that is not "running".
    return process.platform !== "linux" || !/^\d+ \(.*\) Z/s.test(Fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

const holderScript = fileURLToPath(new URL("./support/embeddedHolder.ts", import.meta.url))

/** A separate process holding the cluster in `dataDir`, after it committed `value`; SIGKILLed at scope end. */
const holder = (dataDir: string, value: string): Effect.Effect<ChildProcess.ChildProcess, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<ChildProcess.ChildProcess, Error>((resume) => {
      const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", holderScript, dataDir, value], {
        env: embeddedServiceEnv(dataDir),
        stdio: ["ignore", "pipe", "inherit"]
      })
      const timer = setTimeout(() => resume(Effect.fail(new Error("holder not ready within 30 s"))), 30_000)
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) {
          clearTimeout(timer)
          resume(Effect.succeed(child))
        }
      })
      child.once("exit", (code) => {
        clearTimeout(timer)
        resume(Effect.fail(new Error(`holder exited early with ${code}`)))
      })
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const serverPid = (dataDir: string) =>
  Effect.flatMap(Embedded.runningServer(dataDir), (pid) =>
    Option.match(pid, { onNone: () => Effect.fail(new Error("no server holds the data")), onSome: Effect.succeed }))

// The watchdog is the holder's only `sh` child; found through /proc (Linux only).
const watchdogsOf = (pid: number): ReadonlyArray<number> =>
  Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).flatMap((entry) => {
    try {
      const stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      return parent === pid && stat.includes(" (sh) ") ? [Number(entry)] : []
    } catch {
      return []
    }
  })

describe("embedded PostgreSQL", () => {
  it.scopedLive("creates the data directory on first start and serves concurrent connections and transactions", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      expect(Fs.existsSync(dataDir)).toBe(false)
      const database = yield* Embedded.start({ dataDir })
      expect(database.dataDir).toBe(dataDir)
      expect(Fs.existsSync(Path.join(dataDir, "cluster", "PG_VERSION"))).toBe(true)
      expect(database.port).not.toBe(5432)

      yield* Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const settings = yield* sql<{ readonly fsync: string; readonly commit: string; readonly db: string }>`
          SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS commit, current_database() AS db`
        expect(settings).toEqual([{ fsync: "on", commit: "on", db: "tasks" }])

        // Four sessions that each sleep 0.3 s: four backends at once, well under 1.2 s in total.
        const startedAt = Date.now()
        const sessions = yield* Effect.all(
          Array.from({ length: 4 }, () => sql<{ readonly pid: number }>`SELECT pg_backend_pid() AS pid, pg_sleep(0.3)`),
          { concurrency: "unbounded" }
        )
        expect(new Set(sessions.map((rows) => rows[0]?.pid)).size).toBe(4)
        expect(Date.now() - startedAt).toBeLessThan(1_100)

        // The owner, which migrations run as, may create tables; the runtime role (below) may not.

        // Transaction A stays open while B runs and commits: B must not see A's uncommitted row.
        yield* sql`CREATE TABLE items (id int PRIMARY KEY)`
        const inserted = yield* Deferred.make<void>()
        const checked = yield* Deferred.make<void>()
        const first = yield* Effect.fork(sql.withTransaction(
          sql`INSERT INTO items VALUES (1)`.pipe(
            Effect.andThen(Deferred.succeed(inserted, undefined)),
            Effect.andThen(Deferred.await(checked))
          )
        ))
        yield* Deferred.await(inserted)
        const seenBySecond = yield* sql.withTransaction(
          sql`INSERT INTO items VALUES (2)`.pipe(Effect.andThen(sql<{ readonly id: number }>`SELECT id FROM items ORDER BY id`))
        )
        expect(seenBySecond).toEqual([{ id: 2 }])
        yield* Deferred.succeed(checked, undefined)
        yield* Fiber.join(first)
        expect(yield* sql<{ readonly id: number }>`SELECT id FROM items ORDER BY id`).toEqual([{ id: 1 }, { id: 2 }])
      }).pipe(Effect.provide(withSql(database.ownerUrl)))
    }).pipe(bounded))

  it.scopedLive("reopens the same data on a second start, and stops the server when the scope closes", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      yield* Effect.scoped(Effect.gen(function*() {
        const database = yield* Embedded.start({ dataDir })
        yield* Effect.flatMap(PgClient.PgClient, (sql) =>
          sql`CREATE TABLE kept (value text NOT NULL)`.pipe(Effect.andThen(sql`INSERT INTO kept VALUES ('first run')`))).pipe(
            Effect.provide(withSql(database.ownerUrl))
          )
      }))
      expect(Option.isNone(yield* Embedded.runningServer(dataDir))).toBe(true)

      const reopened = yield* Embedded.start({ dataDir })
      expect(yield* keptValues.pipe(Effect.provide(withSql(reopened.url)))).toEqual(["first run"])
    }).pipe(bounded))

  it.scopedLive("refuses a second start while a live process holds the data", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const database = yield* Embedded.start({ dataDir })
      const error = yield* Effect.flip(Effect.scoped(Embedded.start({ dataDir })))
      expect(error._tag).toBe("EmbeddedDatabaseError")
      expect(error.message).toContain("in use")
      const answer = yield* Effect.flatMap(PgClient.PgClient, (sql) => sql<{ readonly one: number }>`SELECT 1 AS one`).pipe(
        Effect.provide(withSql(database.url))
      )
      expect(answer).toEqual([{ one: 1 }])
    }).pipe(bounded))

  it.scopedLive("after SIGKILL of its owner the server stops by itself, and the next start has the data", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      const owner = yield* holder(dataDir, "committed before SIGKILL")
      const pid = yield* serverPid(dataDir)
      owner.kill("SIGKILL")
      expect(yield* eventually(Effect.sync(() => !isRunning(pid)), 10_000)).toBe(true)

      const reopened = yield* Embedded.start({ dataDir })
      expect(yield* keptValues.pipe(Effect.provide(withSql(reopened.url)))).toEqual(["committed before SIGKILL"])
    }).pipe(bounded))

  it.scopedLive.skipIf(process.platform !== "linux")(
    "a server left behind without a watchdog is stopped by the next start",
    () =>
      Effect.gen(function*() {
        const dataDir = yield* temporaryDataDir
        const owner = yield* holder(dataDir, "kept by the orphan")
        const pid = yield* serverPid(dataDir)
        const watchdogs = watchdogsOf(owner.pid ?? -1)
        expect(watchdogs.length).toBeGreaterThan(0)
        for (const child of watchdogs) process.kill(child, "SIGKILL")
        owner.kill("SIGKILL")
        expect(yield* eventually(Effect.sync(() => !isRunning(pid)), 500)).toBe(false)

        const reopened = yield* Embedded.start({ dataDir })
        expect(isRunning(pid)).toBe(false)
        expect(yield* keptValues.pipe(Effect.provide(withSql(reopened.url)))).toEqual(["kept by the orphan"])
      }).pipe(bounded)
  )
})

describe("freshDatabaseUrl", () => {
  it.scopedLive("gives each caller its own database, dropped when the scope closes", () =>
    Effect.gen(function*() {
      const [first, second] = yield* Effect.all([freshDatabaseUrl, freshDatabaseUrl], { concurrency: 2 })
      const name = (url: Redacted.Redacted<string>) => new URL(Redacted.value(url)).pathname.slice(1)
      expect(name(first)).not.toBe(name(second))
      const tables = yield* Effect.flatMap(PgClient.PgClient, (sql) =>
        sql`CREATE TABLE only_here (id int)`.pipe(Effect.andThen(sql`SELECT 1 FROM pg_tables WHERE tablename = 'only_here'`))).pipe(
          Effect.provide(withSql(first))
        )
      expect(tables.length).toBe(1)
      const elsewhere = yield* Effect.flatMap(PgClient.PgClient, (sql) => sql`SELECT 1 FROM pg_tables WHERE tablename = 'only_here'`).pipe(
        Effect.provide(withSql(second))
      )
      expect(elsewhere.length).toBe(0)

      const dropped = yield* Effect.scoped(Effect.flatMap(freshDatabaseUrl, (url) =>
        Effect.flatMap(PgClient.PgClient, (sql) => sql`SELECT 1`).pipe(Effect.provide(withSql(url)), Effect.as(name(url)))))
      // Other test files may be creating databases on the same server right now: look only at ours.
      const present = yield* Effect.flatMap(PgClient.PgClient, (sql) =>
        sql<{ readonly datname: string }>`SELECT datname FROM pg_database WHERE datname IN ${
          sql.in([name(first), name(second), dropped])
        }`).pipe(Effect.provide(withSql(first)))
      expect(present.map((row) => row.datname).sort()).toEqual([name(first), name(second)].sort())
    }).pipe(bounded))
})
