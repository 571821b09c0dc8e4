import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { mkdir, rm } from "node:fs/promises"
import * as path from "node:path"
import postgres from "postgres"
import { npmScript } from "./processes.ts"

/**
 * The `before` target: the service as it was at another commit, for an A/B in one run. Its tree
 * is extracted inside the project's node_modules, so that the bundle's imports (external, as in
 * the service's own bundle) resolve to the packages installed now, and bundled there by the
 * command and flags the service's own build uses. It keeps its own `migrations/`: the bundle in
 * `<tree>/dist/` finds them by walking up to the tree's package.json, as src/database/Migrator.ts
 * does, and the process also starts in the tree, for a commit that looked in the working directory.
 */
export interface Before {
  /** As given to --before. */
  readonly ref: string
  readonly commit: string
  readonly short: string
  /** The extracted tree. */
  readonly dir: string
  /** `<dir>/dist/main.js`, what `npm start` would run at that commit. */
  readonly bundle: string
  /** `NNNN_name` of each migration in the tree, in order: what its first start must apply. */
  readonly migrations: ReadonlyArray<string>
  /** Runtime dependencies the commit pins to another version than node_modules holds (or lacks). */
  readonly dependencyMismatches: ReadonlyArray<string>
}

const git = (root: string, args: ReadonlyArray<string>, maxBuffer?: number): Buffer =>
  execFileSync("git", [...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], ...(maxBuffer === undefined ? {} : { maxBuffer }) })

const failure = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "stderr" in error && error.stderr instanceof Buffer) {
    const stderr = error.stderr.toString("utf8").trim()
    if (stderr !== "") return stderr
  }
  return error instanceof Error ? error.message : String(error)
}

export const resolveRef = (root: string, ref: string): { readonly commit: string; readonly short: string } => {
  try {
    const commit = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).toString("utf8").trim()
    const short = git(root, ["rev-parse", "--short", commit]).toString("utf8").trim()
    return { commit, short }
  } catch {
    throw new Error(`--before ${ref}: not a commit of this repository`)
  }
}

/**
 * The esbuild arguments of the service's build (`build:server`, else `build`, in the project's
 * package.json): the `esbuild …` command after the last `&&`.
 */
export const bundleArgs = (root: string): ReadonlyArray<string> => {
  const script = npmScript(root, "build:server") ?? npmScript(root, "build") ?? ""
  const command = script.split("&&").map((part) => part.trim()).filter((part) => part.startsWith("esbuild ")).at(-1)
  if (command === undefined) throw new Error(`no esbuild command in package.json's build:server or build script: "${script}"`)
  return command.split(/\s+/).slice(1)
}

const installedVersion = (root: string, name: string): string | undefined => {
  try {
    const manifest: unknown = JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8"))
    return typeof manifest === "object" && manifest !== null && "version" in manifest && typeof manifest.version === "string"
      ? manifest.version
      : undefined
  } catch {
    return undefined
  }
}

/**
 * The commit's runtime dependencies that node_modules does not hold at the pinned version: its
 * bundle runs on today's packages, so a mismatch measures a library change too. Ranges are not
 * judged (the project pins exact versions).
 */
export const dependencyMismatches = (root: string, dir: string): ReadonlyArray<string> => {
  const manifest: unknown = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"))
  const dependencies = typeof manifest === "object" && manifest !== null && "dependencies" in manifest &&
      typeof manifest.dependencies === "object" && manifest.dependencies !== null
    ? Object.entries(manifest.dependencies)
    : []
  return dependencies.flatMap(([name, wanted]) => {
    if (typeof wanted !== "string") return []
    const installed = installedVersion(root, name)
    if (installed === undefined) return [`${name}: ${wanted} wanted, not installed`]
    return /^\d+\.\d+\.\d+/.test(wanted) && wanted !== installed ? [`${name}: ${wanted} wanted, ${installed} installed`] : []
  })
}

const migrationNames = (dir: string): ReadonlyArray<string> => {
  const folder = path.join(dir, "migrations")
  if (!existsSync(folder)) return []
  return readdirSync(folder)
    .flatMap((file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file)
      return match === null ? [] : [{ id: Number(match[1]), name: `${match[1]}_${match[2]}` }]
    })
    .sort((a, b) => a.id - b.id)
    .map((migration) => migration.name)
}

/**
 * Extracts `ref` into node_modules/.cache/bench-before-<short>-<random>/ and bundles its
 * src/main.ts there; the caller removes it with removeBefore. Fails, having removed what it
 * made, when the ref is not a commit or its bundle does not build.
 */
export const prepareBefore = async (root: string, ref: string): Promise<Before> => {
  const { commit, short } = resolveRef(root, ref)
  // A suffix of its own: another run (or the bench tests) may have the same commit extracted.
  const dir = path.join(root, "node_modules", ".cache", `bench-before-${short}-${randomBytes(3).toString("hex")}`)
  await mkdir(dir, { recursive: true })
  try {
    try {
      const archive = git(root, ["archive", "--format=tar", commit], 1024 * 2 ** 20)
      execFileSync("tar", ["-x", "-C", dir], { input: archive, stdio: ["pipe", "ignore", "pipe"] })
    } catch (error) {
      throw new Error(`could not extract the tree: ${failure(error)}`)
    }
    if (!existsSync(path.join(dir, "src", "main.ts"))) throw new Error("the commit has no src/main.ts")
    if (!existsSync(path.join(dir, "package.json"))) throw new Error("the commit has no package.json")
    // Entry points the commit lacks (an older one without src/migrate.ts) are left out.
    const args = bundleArgs(root).filter((arg) => arg.startsWith("-") || existsSync(path.join(dir, arg)))
    try {
      execFileSync(path.join(root, "node_modules", ".bin", "esbuild"), args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    } catch (error) {
      throw new Error(`its bundle did not build (esbuild ${args.join(" ")}):\n${failure(error)}`)
    }
    const bundle = path.join(dir, "dist", "main.js")
    if (!existsSync(bundle)) throw new Error(`esbuild ${args.join(" ")} wrote no dist/main.js`)
    const migrations = migrationNames(dir)
    if (migrations.length === 0) throw new Error("the commit has no migrations/NNNN_*.sql")
    return { ref, commit, short, dir, bundle, migrations, dependencyMismatches: dependencyMismatches(root, dir) }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw new Error(`--before ${ref} (${short}): ${error instanceof Error ? error.message : String(error)}`)
  }
}

export const removeBefore = (before: Pick<Before, "dir">): Promise<void> => rm(before.dir, { recursive: true, force: true })

/**
 * After the commit's service first started on its fresh database: were its own migrations
 * applied, all of them and no others (a bundle that had walked up to the project's
 * migrations/ would have applied today's)? Undefined when they were, else what differs.
 */
export const checkMigrations = async (databaseUrl: string, before: Pick<Before, "migrations">): Promise<string | undefined> => {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => undefined })
  try {
    const rows = await sql`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
    // By number and name: the table keeps the number, not how the file name wrote it.
    const applied = rows.map((row) => `${Number(row["migration_id"])}_${String(row["name"])}`)
    const expected = before.migrations.map((file) => file.replace(/^\d+/, (digits) => String(Number(digits))))
    if (applied.join(",") === expected.join(",")) return undefined
    return `applied migrations ${applied.join(", ") || "(none)"}, where its migrations/ holds ${before.migrations.join(", ")}`
  } catch (error) {
    return `could not read its applied migrations: ${error instanceof Error ? error.message : String(error)}`
  } finally {
    await sql.end({ timeout: 5 })
  }
}
