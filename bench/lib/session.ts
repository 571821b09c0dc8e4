import { chmod, mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { checkMigrations } from "./before.ts"
import type { Before } from "./before.ts"
import { isServiceScenario } from "./config.ts"
import type { Config, Scenario, ServiceScenario, Target } from "./config.ts"
import { freePort } from "./database.ts"
import type { Databases } from "./database.ts"
import { checkAuth, checkConditional, checkIdempotency, checkPaging, newSecret, writeTokens } from "./features.ts"
import type { Support } from "./features.ts"
import { CLOCK_TICKS_PER_SECOND, launch, npmScript, postgresTicks, readStat, sampleRss, stop } from "./processes.ts"
import type { LaunchSpec, Running } from "./processes.ts"
import type { ScenarioRun, SoakResult, StartupProbe, TargetRound } from "./results.ts"
import { probeWire, seed, userRanges } from "./seed.ts"
import type { Probe, UserRanges } from "./seed.ts"
import { runWrk } from "./wrk.ts"

/** What every step of a run needs to know. */
export interface Context {
  readonly root: string
  readonly config: Config
  readonly databases: Databases
  readonly workDir: string
  /** The service at the --before commit, extracted and bundled (when the run has that target). */
  readonly before?: Before
}

const mb = (kb: number | undefined): number => (kb === undefined ? Number.NaN : kb / 1024)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The parent's env without the variables that choose a database: each target gets its own. */
const baseEnv = (port: number): NodeJS.ProcessEnv => {
  const { DATABASE_URL: _url, DATA_DIR: _dir, ...rest } = process.env
  // The service may log every request at Info, which is not what is being measured.
  // Effect's Config.logLevel reads labels (WARN), so the value is "Warn", not "Warning".
  return { ...rest, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "Warn" }
}

/**
 * V8 writes the profiles when the process exits, which both targets do on SIGTERM. A folder
 * per process, with V8's own file names: tsx's loader thread writes a profile of its own.
 */
const profileArgs = (ctx: Context, name: string): Array<string> => {
  if (!ctx.config.cpuProf) return []
  const out = path.resolve(ctx.root, ctx.config.out)
  return ["--cpu-prof", `--cpu-prof-dir=${path.join(path.dirname(out), `${path.basename(out, ".json")}-profiles`, name)}`]
}

/** The node arguments of `npm start` (`node <flags> dist/main.js`), read from package.json. */
const serviceArgs = (root: string): Array<string> => {
  const start = npmScript(root, "start") ?? "node dist/main.js"
  const [command, ...args] = start.split(/\s+/)
  if (command !== "node") throw new Error(`npm start is not "node …": ${start}`)
  return args
}

/** `npm start`'s node flags with its entry point replaced: the others run under the same V8 settings. */
const benchTargetArgs = (root: string, bundle: string): Array<string> => [
  ...serviceArgs(root).filter((arg) => arg.startsWith("-")),
  bundle
]

const beforeOf = (ctx: Context): Before => {
  if (ctx.before === undefined) throw new Error("the before target needs --before <git-ref>")
  return ctx.before
}

const argsFor = (ctx: Context, target: Target): Array<string> => {
  switch (target) {
    case "service":
      return serviceArgs(ctx.root)
    case "before":
      return benchTargetArgs(ctx.root, beforeOf(ctx).bundle)
    case "baseline":
      return benchTargetArgs(ctx.root, "bench/dist/baseline.js")
    case "fastify":
      return benchTargetArgs(ctx.root, "bench/dist/fastify.js")
  }
}

export const targetSpec = (ctx: Context, target: Target, port: number, run: string, extraEnv: Record<string, string> = {}): LaunchSpec => ({
  name: target,
  // Both run as plain node on esbuild bundles, with `npm start`'s node flags (tsx's loader
  // would add ~120 MB to the service and ~45 MB to the baseline); the server is this very
  // process, so its pid is the one to sample.
  command: process.execPath,
  args: [...profileArgs(ctx, `${target}-${run}`), ...argsFor(ctx, target)],
  // The other commit starts in its own tree, as `npm start` would there.
  cwd: target === "before" ? beforeOf(ctx).dir : ctx.root,
  env: { ...baseEnv(port), ...ctx.databases.envFor(target), ...extraEnv },
  baseUrl: `http://127.0.0.1:${port}`,
  timeoutMs: 120_000
})

const targetIndex: Record<Target, number> = { service: 0, baseline: 1, fastify: 2, before: 3 }
const rangesFor = (ctx: Context, target: Target, round: number): UserRanges =>
  // On one shared database the targets must not seed the same users.
  userRanges(ctx.databases.userBase, ctx.databases.shared ? targetIndex[target] : 0, round, ctx.config.users)

/** What a scenario's wrk script needs beyond the seed: tokens for get-auth, page users for list-page. */
interface Extra {
  readonly tokenFile?: string
  readonly pageUserFirst?: number
  readonly pageUsers?: number
}

const scenarioRun = async (
  ctx: Context, running: Running, ranges: UserRanges, seedFile: string, scenario: Scenario, seconds: number, round: number,
  extra: Extra = {}
): Promise<ScenarioRun> => {
  const wrkRun = {
    root: ctx.root, baseUrl: running.baseUrl, scenario, seconds, connections: ctx.config.connections,
    threads: ctx.config.threads, seedFile, createUserFirst: ranges.createFirst, createUsers: ranges.createCount, ...extra
  }
  const stopSampling = sampleRss(running.pid)
  const dbBefore = postgresTicks()
  const { wrkCpuPercent, ...wrk } = await runWrk(wrkRun)
  const dbAfter = postgresTicks()
  const dbCpuSeconds = dbBefore === undefined || dbAfter === undefined ? undefined : (dbAfter - dbBefore) / CLOCK_TICKS_PER_SECOND
  const samples = stopSampling()
  const e = wrk.errors
  return {
    round,
    rps: wrk.requests / (wrk.duration_us / 1e6),
    requests: wrk.requests,
    p50Ms: wrk.latency_us.p50 / 1000,
    p90Ms: wrk.latency_us.p90 / 1000,
    p99Ms: wrk.latency_us.p99 / 1000,
    p999Ms: wrk.latency_us.p999 / 1000,
    maxMs: wrk.latency_us.max / 1000,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    non2xx: e.status,
    peakRssMb: mb(samples.peakRssKb),
    cpuSeconds: samples.cpuSeconds,
    cpuPercent: (100 * samples.cpuSeconds) / samples.elapsedSeconds,
    ...(dbCpuSeconds === undefined ? {} : { dbCpuSeconds }),
    wrkCpuPercent,
    wrk
  }
}

const alive = async (running: Running): Promise<void> => {
  const code = await Promise.race([running.exited, sleep(0).then(() => "running" as const)])
  if (code !== "running") throw new Error(`${running.name} exited (${code}) during the run:\n${running.output()}`)
}

export interface RoundOutcome {
  readonly round: TargetRound
  readonly probes: ReadonlyArray<Probe> | undefined
  /** A failure of the get-auth process, which does not void what the round measured before it. */
  readonly error?: string
}

/** The first seeded user and its first task, from the wrk seed file. */
const firstTask = async (seedFile: string): Promise<{ user: number; task: number }> => {
  const [user, task] = ((await readFile(seedFile, "utf8")).split("\n")[0] ?? "").split(" ").map(Number)
  if (user === undefined || task === undefined || !Number.isFinite(user + task)) throw new Error(`no seeded task in ${seedFile}`)
  return { user, task }
}

/** Warm-up, the measured run, and a check that the target survived both. */
const measure = async (
  ctx: Context, running: Running, target: Target, ranges: UserRanges, seedFile: string, scenario: Scenario, round: number, extra: Extra = {}
): Promise<ScenarioRun> => {
  if (ctx.config.warmup > 0) await scenarioRun(ctx, running, ranges, seedFile, scenario, ctx.config.warmup, round, extra)
  await alive(running)
  const run = await scenarioRun(ctx, running, ranges, seedFile, scenario, ctx.config.duration, round, extra)
  await alive(running)
  process.stderr.write(
    `  ${target} round ${round + 1} ${scenario}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99Ms.toFixed(2)} ms, ` +
      `${run.socketErrors + run.non2xx} errors, peak ${run.peakRssMb.toFixed(1)} MB\n`
  )
  return run
}

const skip = (target: Target, round: number, scenario: Scenario, why: string) =>
  process.stderr.write(`  ${target} round ${round + 1} ${scenario}: skipped: ${why}\n`)

/** One target, one round: a fresh process, fresh seed, then every scenario (each after a warm-up). */
export const runRound = async (ctx: Context, target: Target, round: number): Promise<RoundOutcome> => {
  const { config } = ctx
  const running = await launch(targetSpec(ctx, target, await freePort(), `round${round + 1}`))
  const scenarios: Partial<Record<Scenario, ScenarioRun>> = {}
  const skipped: Partial<Record<Scenario, string>> = {}
  let seedFile: string
  let ranges: UserRanges
  let result: Omit<TargetRound, "exitCode" | "scenarios" | "skipped">
  let probes: ReadonlyArray<Probe> | undefined
  let error: string | undefined
  const authenticated = target === "service" && config.scenarios.includes("get-auth")
  try {
    const rssAfterStartMb = mb(readStat(running.pid)?.rssKb)
    if (target === "before" && round === 0) await checkBeforeMigrations(ctx)
    ranges = rangesFor(ctx, target, round)
    const seeded = await seed(
      running.baseUrl, { first: ranges.seedFirst, count: ranges.seedCount }, config.tasksPerUser,
      path.join(ctx.workDir, `seed-${target}-${round}.txt`)
    )
    seedFile = seeded.file
    probes = round === 0 ? await probeWire(running.baseUrl, ranges.probeUser) : undefined
    await sleep(1000)
    const idleRssMb = mb(readStat(running.pid)?.rssKb)
    for (const scenario of config.scenarios) {
      if (!isServiceScenario(scenario)) scenarios[scenario] = await measure(ctx, running, target, ranges, seedFile, scenario, round)
      // get-auth right after get, on the same database: run at the round's end, after the writes
      // of every other scenario (a grown table, autovacuum at work), it was compared with a get
      // measured on a fresh one (0.65x in one run, 0.92x in another).
      if (scenario === "get" && authenticated) error = await runGetAuth(ctx, ranges, seedFile, round, scenarios, skipped)
    }
    // Version 2 scenarios: the service only. `before` is compared on the plain ones, which every
    // commit has; one from before version 2 would be skipped by the feature checks anyway.
    if (target === "service") {
      for (const scenario of config.scenarios) {
        if (!isServiceScenario(scenario) || scenario === "get-auth") continue
        const { support, extra } = await prepareFeature(ctx, running, ranges, seedFile, scenario, round)
        if (support !== undefined) {
          skipped[scenario] = support
          skip(target, round, scenario, support)
        } else {
          scenarios[scenario] = await measure(ctx, running, target, ranges, seedFile, scenario, round, extra)
        }
      }
    }
    result = {
      round, startupMs: running.startupMs, startupProbe: running.probe, rssAfterStartMb, idleRssMb,
      seedMs: seeded.ms, hwmMb: mb(readStat(running.pid)?.hwmKb), outputBytes: running.outputBytes()
    }
  } catch (error) {
    await stop(running)
    throw error
  }
  const exitCode = await stop(running)
  // Without get in the round, get-auth runs last, once the plain service has stopped.
  if (authenticated && !config.scenarios.includes("get")) error = await runGetAuth(ctx, ranges, seedFile, round, scenarios, skipped)
  return { round: { ...result, scenarios, skipped, exitCode }, probes, ...(error === undefined ? {} : { error }) }
}

/**
 * The other commit's first start must have applied its own migrations, not today's: a bundle that
 * missed its tree's migrations/ would run the old code on the new schema. Only where the runner
 * can reach the database (not an embedded DATA_DIR).
 */
const checkBeforeMigrations = async (ctx: Context): Promise<void> => {
  const url = ctx.databases.envFor("before").DATABASE_URL
  if (url === undefined) return
  const problem = await checkMigrations(url, beforeOf(ctx))
  if (problem !== undefined) throw new Error(`the service at ${beforeOf(ctx).short}: ${problem}`)
}

/** Seeds what a feature scenario needs on the running service, then asks whether the service has the feature. */
const prepareFeature = async (
  ctx: Context, running: Running, ranges: UserRanges, seedFile: string, scenario: Exclude<ServiceScenario, "get-auth">, round: number
): Promise<{ support: Support; extra: Extra }> => {
  switch (scenario) {
    case "list-page": {
      const users = { first: ranges.pageFirst, count: ctx.config.pageUsers }
      await seed(running.baseUrl, users, ctx.config.pageTasks, path.join(ctx.workDir, `seed-pages-${round}.txt`))
      return { support: await checkPaging(running.baseUrl, users.first), extra: { pageUserFirst: users.first, pageUsers: users.count } }
    }
    case "create-idem":
      return { support: await checkIdempotency(running.baseUrl, ranges.createFirst), extra: {} }
    case "update-if-match": {
      const { user, task } = await firstTask(seedFile)
      return { support: await checkConditional(running.baseUrl, user, task), extra: {} }
    }
  }
}

/** get-auth into the round's scenarios (or skipped); a failure of its process is the round's error, not a throw. */
const runGetAuth = async (
  ctx: Context, ranges: UserRanges, seedFile: string, round: number,
  scenarios: Partial<Record<Scenario, ScenarioRun>>, skipped: Partial<Record<Scenario, string>>
): Promise<string | undefined> => {
  try {
    const outcome = await runAuthenticated(ctx, ranges, seedFile, round)
    if (typeof outcome === "string") {
      skipped["get-auth"] = outcome
      skip("service", round, "get-auth", outcome)
    } else {
      scenarios["get-auth"] = outcome
    }
    return undefined
  } catch (cause) {
    return `get-auth: ${cause instanceof Error ? cause.message : String(cause)}`
  }
}

/**
 * get-auth: the service again, on the same database and seed, as a new process with
 * AUTH_JWT_SECRET set to a secret of its own; every request carries its task owner's token.
 * Answers the run, or why it was skipped.
 */
const runAuthenticated = async (ctx: Context, ranges: UserRanges, seedFile: string, round: number): Promise<ScenarioRun | string> => {
  const secret = newSecret()
  const running = await launch(targetSpec(ctx, "service", await freePort(), `round${round + 1}-auth`, { AUTH_JWT_SECRET: secret }))
  try {
    const { user, task } = await firstTask(seedFile)
    const support = await checkAuth(running.baseUrl, secret, user, task)
    if (support !== undefined) return support
    const tokenFile = path.join(ctx.workDir, `tokens-${round}.txt`)
    await writeTokens(tokenFile, secret, ranges.seedFirst, ranges.seedCount)
    return await measure(ctx, running, "service", ranges, seedFile, "get-auth", round, { tokenFile })
  } finally {
    await stop(running)
  }
}

/** Issue 4: mixed load on a fresh process; RSS at the end must stay within 1.5x of RSS 15 s in. */
export const runSoak = async (ctx: Context, target: Target): Promise<SoakResult> => {
  const running = await launch(targetSpec(ctx, target, await freePort(), "soak"))
  try {
    const ranges = rangesFor(ctx, target, ctx.config.rounds)
    const seeded = await seed(
      running.baseUrl, { first: ranges.seedFirst, count: ranges.seedCount }, ctx.config.tasksPerUser,
      path.join(ctx.workDir, `seed-${target}-soak.txt`)
    )
    const seconds = ctx.config.soakDuration
    const stopSampling = sampleRss(running.pid)
    const wrk = await runWrk({
      root: ctx.root, baseUrl: running.baseUrl, scenario: "mixed", seconds, connections: ctx.config.connections,
      threads: ctx.config.threads, seedFile: seeded.file, createUserFirst: ranges.createFirst, createUsers: ranges.createCount
    })
    const samples = stopSampling()
    await alive(running)
    const at15 = samples.points.find((point) => point.atMs >= 15_000)
    const last = samples.points[samples.points.length - 1]
    const rssAt15sMb = mb(at15?.rssKb)
    const rssAtEndMb = mb(last?.rssKb)
    const e = wrk.errors
    const socketErrors = e.connect + e.read + e.write + e.timeout
    const growth = rssAtEndMb / rssAt15sMb
    const timeline = samples.points
      .filter((point, i) => i === 0 || Math.floor(point.atMs / 1000) !== Math.floor((samples.points[i - 1]?.atMs ?? 0) / 1000))
      .map((point) => ({ atS: Math.round(point.atMs / 100) / 10, rssMb: Math.round(mb(point.rssKb) * 10) / 10 }))
    await stop(running)
    return {
      seconds, rps: wrk.requests / (wrk.duration_us / 1e6), p99Ms: wrk.latency_us.p99 / 1000, socketErrors,
      non2xx: e.status, rssAt15sMb, rssAtEndMb, growth, peakRssMb: mb(samples.peakRssKb),
      pass: growth <= 1.5 && socketErrors === 0 && e.status === 0, timeline
    }
  } catch (error) {
    await stop(running)
    throw error
  }
}

/** Issue 3: `npm start` to the first 200 on the embedded database, fresh DATA_DIR then the same one reopened. */
export const startupEmbedded = async (root: string): Promise<StartupProbe> => {
  const command = "npm start"
  const dir = await mkdtemp(path.join(tmpdir(), "bench-startup-"))
  // As root the embedded server runs as another user, which must be able to reach DATA_DIR.
  await chmod(dir, 0o755)
  const spec = async (): Promise<LaunchSpec> => {
    const port = await freePort()
    return {
      name: "service (npm start, embedded)", command: "npm", args: ["start", "--silent"], cwd: root,
      env: { ...baseEnv(port), DATA_DIR: path.join(dir, "data") }, baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 180_000
    }
  }
  try {
    const fresh = await launch(await spec())
    await stop(fresh, { graceMs: 30_000, group: true })
    const reopened = await launch(await spec())
    await stop(reopened, { graceMs: 30_000, group: true })
    return { command, freshMs: fresh.startupMs, reopenedMs: reopened.startupMs, freshProbe: fresh.probe }
  } catch (error) {
    return { command, freshMs: null, reopenedMs: null, freshProbe: "", error: error instanceof Error ? error.message : String(error) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
