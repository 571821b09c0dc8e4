import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { cpus, tmpdir, totalmem } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { prepareBefore, removeBefore } from "./lib/before.ts"
import type { Before } from "./lib/before.ts"
import { parseConfig, usage } from "./lib/config.ts"
import type { Config, Target } from "./lib/config.ts"
import { prepareDatabases } from "./lib/database.ts"
import type { Databases } from "./lib/database.ts"
import { judge, summarize } from "./lib/results.ts"
import type { Results } from "./lib/results.ts"
import type { Probe } from "./lib/seed.ts"
import { wireCheck } from "./lib/wire.ts"
import { runRound, runSoak, startupEmbedded } from "./lib/session.ts"
import type { Context } from "./lib/session.ts"
import { formatTable } from "./lib/table.ts"
import { ensureWrk, stopWrk } from "./lib/wrk.ts"

/**
 * `npm run bench`: the service against the bare baseline (bench/baseline.ts) and a Fastify
 * implementation (bench/fastify.ts), same schema, same bytes on the wire, alternating per round;
 * with --before, against itself at another commit too. See `npm run bench -- --help`.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const log = (line: string) => process.stderr.write(line + "\n")

const git = (...args: Array<string>): string => {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
  } catch {
    return ""
  }
}

/** Results files get shared: a database password must not end up in one. */
const redact = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "redacted"
    return parsed.toString()
  } catch {
    return "(unparsable URL)"
  }
}

const parsed = (() => {
  try {
    return parseConfig(process.argv.slice(2), process.env)
  } catch (error) {
    log(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    process.exit(2)
  }
})()
if (parsed === "help") {
  log(usage)
  process.exit(0)
}
const errors: Array<string> = []
let config: Config = parsed
if (config.targets.includes("service") && !existsSync(path.join(root, "src", "main.ts"))) {
  log("src/main.ts does not exist yet: the service is skipped")
  config = { ...config, targets: config.targets.filter((target) => target !== "service") }
  if (config.targets.length === 0) {
    log("src/main.ts does not exist yet; try --targets baseline,fastify")
    process.exit(2)
  }
}

// The same bundles `npm start` runs, built once for the whole run. The others' go to
// bench/dist: `npm start` (the start-up probe) rebuilds dist/ from scratch.
execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
execFileSync(
  "npx",
  ["esbuild", "bench/baseline.ts", "bench/fastify.ts", "--bundle", "--platform=node", "--format=esm", "--target=node20",
    "--packages=external", "--sourcemap", "--outdir=bench/dist", "--log-level=warning"],
  { cwd: root, stdio: "inherit" }
)

const wrk = ensureWrk()
// The service at the --before commit: extracted and bundled now, so a ref that does not build
// stops the run before anything is measured.
let before: Before | undefined
if (config.before !== undefined) {
  try {
    before = await prepareBefore(root, config.before)
  } catch (error) {
    log(error instanceof Error ? error.message : String(error))
    process.exit(2)
  }
  log(`before: ${config.before} is ${before.commit}, bundled in ${path.relative(root, before.dir)}`)
  for (const mismatch of before.dependencyMismatches) log(`before: its package.json pins ${mismatch}: it runs on today's`)
}

const workDir = await mkdtemp(path.join(tmpdir(), "bench-run-"))
let databases: Databases | undefined
let cleaningUp = false
const cleanUp = async () => {
  if (cleaningUp) return
  cleaningUp = true
  await databases?.release().catch((error: unknown) => log(`could not release the databases: ${String(error)}`))
  await rm(workDir, { recursive: true, force: true })
  if (before !== undefined) await removeBefore(before)
}
// Ctrl-C: stop wrk; the servers' process groups are killed on exit (lib/processes.ts).
process.once("SIGINT", () => {
  log("interrupted: cleaning up")
  stopWrk()
  cleanUp().finally(() => process.exit(130))
})

const beforeRef = before === undefined ? undefined : { ref: before.ref, commit: before.commit, short: before.short }
const results: Results = {
  ...(beforeRef === undefined ? {} : { before: beforeRef }),
  meta: {
    started_at: new Date().toISOString(),
    git_commit: git("rev-parse", "HEAD"),
    git_dirty: git("status", "--porcelain").length > 0,
    node: process.version,
    cpu: cpus()[0]?.model ?? "",
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    wrk,
    ...(before === undefined ? {} : {
      before: { ref: before.ref, commit: before.commit, short: before.short, dependency_mismatches: before.dependencyMismatches }
    }),
    config: { ...config, databaseUrl: redact(config.databaseUrl), adminUrl: redact(config.adminUrl) }
  },
  rounds: {},
  errors
}

if (config.startup && config.targets.includes("service")) {
  log("start-up: npm start on a fresh, then a reopened, embedded DATA_DIR")
  results.startupEmbedded = await startupEmbedded(root)
  if (results.startupEmbedded.error !== undefined) errors.push(`start-up probe: ${results.startupEmbedded.error}`)
}

try {
  databases = await prepareDatabases(config)
  results.meta.database = databases.description
  log(`database: ${databases.description}`)
  const ctx: Context = { root, config, databases, workDir, ...(before === undefined ? {} : { before }) }
  const probes: Partial<Record<Target, ReadonlyArray<Probe>>> = {}
  // The service goes first in every round (then before, baseline, fastify): on a shared
  // DATABASE_URL it is the one that migrates, and the two builds of it alternate.
  let stopped = false
  rounds: for (let round = 0; round < config.rounds; round++) {
    for (const target of config.targets) {
      log(`round ${round + 1}/${config.rounds}: ${target}`)
      try {
        const outcome = await runRound(ctx, target, round)
        ;(results.rounds[target] ??= []).push(outcome.round)
        if (outcome.probes !== undefined) probes[target] = outcome.probes
        if (outcome.error !== undefined) {
          errors.push(`${target}, round ${round + 1}: ${outcome.error}`)
          log(errors[errors.length - 1] ?? "")
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        // The other commit failing its first round (no start, wrong migrations) will fail every
        // round: stop, rather than measure the rest of the run without what it is for.
        if (target === "before" && round === 0) {
          errors.push(`--before ${config.before} (${before?.short}): the service at that commit failed in round 1, run stopped: ${message}`)
          log(errors[errors.length - 1] ?? "")
          stopped = true
          break rounds
        }
        errors.push(`${target}, round ${round + 1}: ${message}`)
        log(errors[errors.length - 1] ?? "")
      }
    }
  }
  results.wire = wireCheck(probes)
  if (config.soak && !stopped) {
    results.soak = {}
    for (const target of config.targets) {
      log(`soak: ${target}, mixed for ${config.soakDuration}s`)
      try {
        results.soak[target] = await runSoak(ctx, target)
      } catch (error) {
        errors.push(`${target}, soak: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
} catch (error) {
  errors.push(error instanceof Error ? error.message : String(error))
} finally {
  await cleanUp()
}

results.meta.finished_at = new Date().toISOString()
results.summary = summarize(results, config.scenarios, config.targets)
results.goals = judge(results)
const out = path.resolve(root, config.out)
await mkdir(path.dirname(out), { recursive: true })
await writeFile(out, JSON.stringify(results, null, 2) + "\n")
process.stdout.write(formatTable(results, config) + "\n")
log(`results: ${path.relative(root, out)}`)
process.exit(errors.length > 0 ? 1 : 0)
