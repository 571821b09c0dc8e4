import { readFileSync } from "node:fs"
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Config, Scenario, Target } from "./config.ts"
import { freePort } from "./database.ts"
import type { Databases } from "./database.ts"
import { launch, readStat, sampleRss, stop } from "./processes.ts"
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
  const manifest: unknown = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"))
  const start = typeof manifest === "object" && manifest !== null && "scripts" in manifest &&
      typeof manifest.scripts === "object" && manifest.scripts !== null && "start" in manifest.scripts &&
      typeof manifest.scripts.start === "string"
    ? manifest.scripts.start
    : "node dist/main.js"
  const [command, ...args] = start.split(/\s+/)
  if (command !== "node") throw new Error(`npm start is not "node …": ${start}`)
  return args
}

/** `npm start`'s node flags with its entry point replaced: the baseline runs under the same V8 settings. */
const baselineArgs = (root: string): Array<string> => [
  ...serviceArgs(root).filter((arg) => arg.startsWith("-")),
  "bench/dist/baseline.js"
]

const targetSpec = (ctx: Context, target: Target, port: number, run: string): LaunchSpec => ({
  name: target,
  // Both run as plain node on esbuild bundles, with `npm start`'s node flags (tsx's loader
  // would add ~120 MB to the service and ~45 MB to the baseline); the server is this very
  // process, so its pid is the one to sample.
  command: process.execPath,
  args: [
    ...profileArgs(ctx, `${target}-${run}`),
    ...(target === "service" ? serviceArgs(ctx.root) : baselineArgs(ctx.root))
  ],
  cwd: ctx.root,
  env: { ...baseEnv(port), ...ctx.databases.envFor(target) },
  baseUrl: `http://127.0.0.1:${port}`,
  timeoutMs: 120_000
})

const rangesFor = (ctx: Context, target: Target, round: number): UserRanges =>
  // On one shared database the two targets must not seed the same users.
  userRanges(ctx.databases.userBase, ctx.databases.shared && target === "baseline" ? 1 : 0, round, ctx.config.users)

const scenarioRun = async (
  ctx: Context, running: Running, ranges: UserRanges, seedFile: string, scenario: Scenario, seconds: number, round: number
): Promise<ScenarioRun> => {
  const wrkRun = {
    root: ctx.root, baseUrl: running.baseUrl, scenario, seconds, connections: ctx.config.connections,
    threads: ctx.config.threads, seedFile, createUserFirst: ranges.createFirst, createUsers: ranges.createCount
  }
  const stopSampling = sampleRss(running.pid)
  const { wrkCpuPercent, ...wrk } = await runWrk(wrkRun)
  const samples = stopSampling()
  const e = wrk.errors
  return {
    round,
    rps: wrk.requests / (wrk.duration_us / 1e6),
    requests: wrk.requests,
    p50Ms: wrk.latency_us.p50 / 1000,
    p90Ms: wrk.latency_us.p90 / 1000,
    p99Ms: wrk.latency_us.p99 / 1000,
    maxMs: wrk.latency_us.max / 1000,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    non2xx: e.status,
    peakRssMb: mb(samples.peakRssKb),
    cpuPercent: (100 * samples.cpuSeconds) / samples.elapsedSeconds,
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
}

/** One target, one round: a fresh process, fresh seed, then every scenario (each after a warm-up). */
export const runRound = async (ctx: Context, target: Target, round: number): Promise<RoundOutcome> => {
  const { config } = ctx
  const running = await launch(targetSpec(ctx, target, await freePort(), `round${round + 1}`))
  try {
    const rssAfterStartMb = mb(readStat(running.pid)?.rssKb)
    const ranges = rangesFor(ctx, target, round)
    const seeded = await seed(running.baseUrl, ranges, config.tasksPerUser, path.join(ctx.workDir, `seed-${target}-${round}.txt`))
    const probes = round === 0 ? await probeWire(running.baseUrl, ranges.probeUser) : undefined
    await sleep(1000)
    const idleRssMb = mb(readStat(running.pid)?.rssKb)
    const scenarios: Partial<Record<Scenario, ScenarioRun>> = {}
    for (const scenario of config.scenarios) {
      if (config.warmup > 0) await scenarioRun(ctx, running, ranges, seeded.file, scenario, config.warmup, round)
      await alive(running)
      const run = await scenarioRun(ctx, running, ranges, seeded.file, scenario, config.duration, round)
      await alive(running)
      scenarios[scenario] = run
      process.stderr.write(
        `  ${target} round ${round + 1} ${scenario}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99Ms.toFixed(2)} ms, ` +
          `${run.socketErrors + run.non2xx} errors, peak ${run.peakRssMb.toFixed(1)} MB\n`
      )
    }
    const hwmMb = mb(readStat(running.pid)?.hwmKb)
    const exitCode = await stop(running)
    const result: TargetRound = {
      round, startupMs: running.startupMs, startupProbe: running.probe, rssAfterStartMb, idleRssMb,
      seedMs: seeded.ms, scenarios, hwmMb, outputBytes: running.outputBytes(), exitCode
    }
    return { round: result, probes }
  } catch (error) {
    await stop(running)
    throw error
  }
}

/** Issue 4: mixed load on a fresh process; RSS at the end must stay within 1.5x of RSS 15 s in. */
export const runSoak = async (ctx: Context, target: Target): Promise<SoakResult> => {
  const running = await launch(targetSpec(ctx, target, await freePort(), "soak"))
  try {
    const ranges = rangesFor(ctx, target, ctx.config.rounds)
    const seeded = await seed(running.baseUrl, ranges, ctx.config.tasksPerUser, path.join(ctx.workDir, `seed-${target}-soak.txt`))
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
