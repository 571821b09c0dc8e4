/**
 * Which OS user runs the embedded PostgreSQL as root, and what that user can reach.
 *
 * As root the embedded PostgreSQL runs as another user (`chooseRunAs`, below), who must traverse every
 * parent of the binaries and of the cluster. A checkout under /root (mode 0700) blocks both. Rather
 * than ask the operator to move the project, we put what that user needs where it can reach it:
 *
 * - the binaries: copied once per package version to `/var/lib/task-api-pg/binaries/<version>`
 *   (root-owned, world-readable; ~60 MB, ~0.5 s), and used from there;
 * - a new cluster whose DATA_DIR it cannot reach: created in
 *   `/var/lib/task-api-pg/clusters/<hash of DATA_DIR's real path>`, with its server log, and DATA_DIR
 *   gets a note, `cluster-location`, naming that directory. DATA_DIR keeps the passwords and the
 *   owner file, which only root reads. Deleting DATA_DIR does not delete the relocated cluster: the
 *   note says so.
 *
 * A cluster that exists inside DATA_DIR stays where it is (old checkouts keep their data).
 */
import { Effect, Option } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { binariesIn, type Binaries, EmbeddedDatabaseError, execute, type RunAs } from "./EmbeddedProcess.ts"

const fail = (message: string) => new EmbeddedDatabaseError({ message })

const lookupUser = (name: string): Effect.Effect<Option.Option<RunAs>> =>
  Effect.all([
    execute("id", ["-u", name], { runAs: Option.none(), timeout: "5 seconds" }),
    execute("id", ["-g", name], { runAs: Option.none(), timeout: "5 seconds" })
  ]).pipe(
    Effect.map(([uid, gid]) => ({ uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) })),
    Effect.map((ids) => (Number.isInteger(ids.uid) && Number.isInteger(ids.gid) ? Option.some(ids) : Option.none())),
    Effect.orElseSucceed(() => Option.none())
  )

/** The system user the embedded PostgreSQL runs as when the service runs as root. */
export const SERVICE_USER = "task-api-pg"

/**
 * Its home: copies of the binaries and clusters whose DATA_DIR it cannot reach (see
 * `EmbeddedAccess.ts`). Under /var/lib, which every user may traverse.
 */
export const SERVICE_HOME = "/var/lib/task-api-pg"

const createServiceUser: Effect.Effect<void, EmbeddedDatabaseError> = execute("useradd", [
  "--system",
  "--user-group",
  "--no-create-home",
  `--home-dir=${SERVICE_HOME}`,
  "--shell=/usr/sbin/nologin",
  "--comment=embedded PostgreSQL of task-api",
  SERVICE_USER
], { runAs: Option.none(), timeout: "20 seconds" }).pipe(Effect.asVoid)

/**
 * PostgreSQL refuses to run as root. As root we run it as the owner of an existing cluster (so a
 * data directory keeps working whoever created it), else as a system user of its own,
 * `task-api-pg`, created when missing (initdb needs a passwd entry). Not `postgres`: a host
 * PostgreSQL runs as that uid, and sharing it would let either server's files be read and signalled
 * by the other. If the user cannot be created (no `useradd`, a read-only /etc) we fall back to
 * `nobody`, with a warning. Not root: we run it as ourselves.
 */
export const chooseRunAs = (clusterDir: string): Effect.Effect<Option.Option<RunAs>, EmbeddedDatabaseError> =>
  Effect.gen(function*() {
    if (process.getuid?.() !== 0) return Option.none()
    const existing = yield* Effect.option(Effect.tryPromise(() => Fs.stat(clusterDir)))
    if (Option.isSome(existing) && existing.value.uid !== 0) {
      return Option.some({ uid: existing.value.uid, gid: existing.value.gid })
    }
    const own = yield* lookupUser(SERVICE_USER)
    if (Option.isSome(own) && own.value.uid !== 0) return own
    // Two starts at once may both try; the loser's "already exists" is fine, the lookup decides.
    const created = yield* Effect.either(createServiceUser)
    const afterCreate = yield* lookupUser(SERVICE_USER)
    if (Option.isSome(afterCreate) && afterCreate.value.uid !== 0) {
      if (created._tag === "Right") yield* Effect.logInfo(`Created the system user ${SERVICE_USER} to run PostgreSQL as`)
      return afterCreate
    }
    const nobody = yield* lookupUser("nobody")
    if (Option.isSome(nobody) && nobody.value.uid !== 0) {
      const why = created._tag === "Left" ? created.left.message : "it is still missing"
      yield* Effect.logWarning(`Could not create the system user ${SERVICE_USER} (${why}); running PostgreSQL as nobody`)
      return nobody
    }
    return yield* Effect.fail(fail(`Running as root, and neither ${SERVICE_USER} (useradd failed) nor nobody can run PostgreSQL`))
  })

/** Whether `runAs` may enter (and, with `write`, write into) `path`: every parent must let it through. */
export const canReach = (path: string, runAs: Option.Option<RunAs>, write: boolean): Effect.Effect<boolean> =>
  Option.isNone(runAs) ? Effect.succeed(true) : execute(
    "/bin/sh",
    ["-c", write ? 'test -x "$1" && test -w "$1"' : 'test -x "$1"', "reach", path],
    { runAs, timeout: "5 seconds" }
  ).pipe(Effect.as(true), Effect.orElseSucceed(() => false))

const io = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, EmbeddedDatabaseError> =>
  Effect.tryPromise({ try: run, catch: (error) => new EmbeddedDatabaseError({ message: `${what}: ${String(error)}` }) })

const exists = (path: string): Effect.Effect<boolean> =>
  Effect.tryPromise(() => Fs.access(path)).pipe(Effect.as(true), Effect.orElseSucceed(() => false))

/** `SERVICE_HOME/sub`, root-owned and traversable by everyone. */
const serviceDirectory = (sub: string) =>
  io(`Could not create ${Path.join(SERVICE_HOME, sub)}`, async () => {
    const directory = Path.join(SERVICE_HOME, sub)
    await Fs.mkdir(directory, { recursive: true, mode: 0o755 })
    // An umask could have narrowed the mode; the PostgreSQL user must get through.
    await Fs.chmod(SERVICE_HOME, 0o755)
    await Fs.chmod(directory, 0o755)
    return directory
  })

/** The binaries where `runAs` can run them: in place when it can, else a copy made once. */
export const reachableBinaries = (bin: Binaries, runAs: Option.Option<RunAs>): Effect.Effect<Binaries, EmbeddedDatabaseError> =>
  Effect.gen(function*() {
    if (yield* canReach(bin.initdb, runAs, false)) return bin
    const target = Path.join(yield* serviceDirectory("binaries"), bin.version)
    const copy = binariesIn(target, bin.version)
    if (yield* exists(Path.join(target, "bin", "postgres"))) return copy
    yield* Effect.logInfo(`Copying the PostgreSQL binaries to ${target}, where the PostgreSQL user can run them`)
    // Copied beside the target and renamed, so a start killed half-way leaves no partial copy
    // that a later start would use, and two starts at once do not mix their files.
    const staging = `${target}.${process.pid}.${Crypto.randomBytes(4).toString("hex")}`
    yield* io("Could not copy the PostgreSQL binaries", async () => {
      try {
        await Fs.cp(bin.root, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
        await Fs.chmod(staging, 0o755)
        await Fs.rename(staging, target).catch(async (error: unknown) => {
          // Another start finished its copy first: use that one.
          if (!(await Fs.access(Path.join(target, "bin", "postgres")).then(() => true, () => false))) throw error
        })
      } finally {
        await Fs.rm(staging, { recursive: true, force: true })
      }
    })
    return copy
  })

export const LOCATION_NOTE = "cluster-location"

const noteText = (home: string, dataDir: string) =>
  `${home}\n\n` +
  `The PostgreSQL cluster of this DATA_DIR (${dataDir}) and its server log are in the directory above:\n` +
  "the PostgreSQL user could not reach this directory, so the cluster was created there.\n" +
  "Deleting this DATA_DIR does not delete it; remove that directory too.\n"

/** Where the cluster of `dataDir` lives if a note says it was relocated. */
export const relocatedHome = (dataDir: string): Effect.Effect<Option.Option<string>> =>
  Effect.tryPromise(() => Fs.readFile(Path.join(dataDir, LOCATION_NOTE), "utf8")).pipe(
    Effect.map((text) => {
      const line = text.split("\n")[0]?.trim() ?? ""
      return Path.isAbsolute(line) ? Option.some(line) : Option.none()
    }),
    Effect.orElseSucceed(() => Option.none())
  )

/**
 * The directory that holds (or will hold) `cluster/` and `postgres.log` for `dataDir`: a relocated
 * home named by the note; DATA_DIR itself when its cluster is there or `runAs` can reach it; else
 * a new home under SERVICE_HOME, owned by `runAs`, and the note written.
 */
export const clusterHome = (dataDir: string, runAs: Option.Option<RunAs>): Effect.Effect<string, EmbeddedDatabaseError> =>
  Effect.gen(function*() {
    const noted = yield* relocatedHome(dataDir)
    if (Option.isSome(noted)) return noted.value
    if (yield* exists(Path.join(dataDir, "cluster", "PG_VERSION"))) return dataDir
    if (Option.isNone(runAs) || (yield* canReach(dataDir, runAs, true))) return dataDir
    const realDataDir = yield* io(`Could not resolve ${dataDir}`, () => Fs.realpath(dataDir))
    const hash = Crypto.createHash("sha256").update(realDataDir).digest("hex").slice(0, 16)
    const home = Path.join(yield* serviceDirectory("clusters"), hash)
    yield* io(`Could not create ${home}`, async () => {
      // A home without a note is left from a DATA_DIR of the same path that was deleted (its
      // passwords with it): set it aside rather than reuse it or destroy it.
      if (await Fs.access(home).then(() => true, () => false)) await Fs.rename(home, `${home}.orphaned-${Date.now()}`)
      await Fs.mkdir(home, { recursive: true, mode: 0o700 })
      await Fs.chown(home, runAs.value.uid, runAs.value.gid)
    })
    yield* io("Could not write the cluster location note", () =>
      Fs.writeFile(Path.join(dataDir, LOCATION_NOTE), noteText(home, realDataDir), { mode: 0o644 }))
    yield* Effect.logInfo(`${dataDir} is out of the PostgreSQL user's reach: its cluster goes to ${home} (see ${LOCATION_NOTE})`)
    return home
  })
