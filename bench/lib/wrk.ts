import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import type { Scenario } from "./config.ts"
import { CLOCK_TICKS_PER_SECOND, reapedChildrenTicks } from "./processes.ts"

/** What the Lua done() hook prints, in wrk's units (microseconds). */
export interface WrkResult {
  readonly requests: number
  readonly duration_us: number
  readonly bytes: number
  readonly errors: {
    readonly connect: number
    readonly read: number
    readonly write: number
    readonly timeout: number
    readonly status: number
  }
  readonly latency_us: {
    readonly min: number
    readonly mean: number
    readonly stdev: number
    readonly max: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly p999: number
  }
}

const hasWrk = (): boolean => spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined

/**
 * wrk is a Debian package, not an npm one, so the benchmark installs it itself (as root, which
 * this project's machines are); the package lists are refreshed only when the first try fails.
 */
export const ensureWrk = (): string => {
  if (!hasWrk()) {
    process.stderr.write("wrk not found: installing the Debian package\n")
    const install = () => spawnSync("apt-get", ["install", "-y", "-qq", "wrk"], { stdio: "inherit" }).status === 0
    if (!install()) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" })
      if (!install()) throw new Error("could not install wrk: run `apt-get install -y wrk` as root")
    }
  }
  const banner = spawnSync("wrk", ["--version"], { encoding: "utf8" })
  return (banner.stdout + banner.stderr).split("\n")[0]?.trim() ?? "wrk"
}

export const wrkScript = (root: string): string => path.join(root, "bench", "wrk", "scenario.lua")

export interface WrkRun {
  readonly root: string
  readonly baseUrl: string
  readonly scenario: Scenario
  readonly seconds: number
  readonly connections: number
  readonly threads: number
  readonly seedFile: string
  readonly createUserFirst: number
  readonly createUsers: number
  /** get-auth: "<user_id> <token>" lines. */
  readonly tokenFile?: string
  /** list-page: the users seeded with 200 tasks each. */
  readonly pageUserFirst?: number
  readonly pageUsers?: number
}

let current: number | undefined

/** Ends a wrk still running (on Ctrl-C); wrk is always this process's own child. */
export const stopWrk = (): void => {
  if (current !== undefined) {
    try {
      process.kill(current, "SIGINT")
    } catch {
      // already gone
    }
  }
}

/** wrk's result, and the CPU wrk itself used, in % of one core. */
export const runWrk = (run: WrkRun): Promise<WrkResult & { readonly wrkCpuPercent: number }> =>
  new Promise((resolve, reject) => {
    const ticksBefore = reapedChildrenTicks()
    const child = spawn(
      "wrk",
      [
        `--threads=${Math.min(run.threads, run.connections)}`,
        `--connections=${run.connections}`,
        `--duration=${run.seconds}s`,
        "--timeout=5s",
        `--script=${wrkScript(run.root)}`,
        run.baseUrl
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          BENCH_SCENARIO: run.scenario,
          BENCH_SEED_FILE: run.seedFile,
          BENCH_CREATE_USER: String(run.createUserFirst),
          BENCH_CREATE_USERS: String(run.createUsers),
          BENCH_TOKEN_FILE: run.tokenFile ?? "",
          BENCH_PAGE_USER: String(run.pageUserFirst ?? 0),
          BENCH_PAGE_USERS: String(run.pageUsers ?? 0),
          // Idempotency keys are kept for 24 h: each wrk run makes its own, never a repeat.
          BENCH_RUN_ID: randomBytes(6).toString("hex")
        }
      }
    )
    current = child.pid
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
    // wrk stops itself after --duration; this only guards against a wedged process.
    const guard = setTimeout(() => child.kill("SIGKILL"), (run.seconds + 30) * 1000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(guard)
      current = undefined
      const line = out.split("\n").find((candidate) => candidate.startsWith("BENCH_RESULT "))
      if (line === undefined) return reject(new Error(`wrk (exit ${code}) printed no result:\n${out}`))
      const result = JSON.parse(line.slice("BENCH_RESULT ".length)) as WrkResult
      const cpuSeconds = (reapedChildrenTicks() - ticksBefore) / CLOCK_TICKS_PER_SECOND
      resolve({ ...result, wrkCpuPercent: (100 * cpuSeconds) / (result.duration_us / 1e6) })
    })
  })
