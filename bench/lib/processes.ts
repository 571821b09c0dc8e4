import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"

/** A script of the package.json in `dir`, as npm would run it; undefined when there is none. */
export const npmScript = (dir: string, name: string): string | undefined => {
  const manifest: unknown = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"))
  if (typeof manifest !== "object" || manifest === null || !("scripts" in manifest)) return undefined
  const scripts = manifest.scripts
  if (typeof scripts !== "object" || scripts === null || !(name in scripts)) return undefined
  const script: unknown = Object.getOwnPropertyDescriptor(scripts, name)?.value
  return typeof script === "string" ? script : undefined
}

/** A target process started by the benchmark, in a process group of its own. */
export interface Running {
  readonly name: string
  readonly pid: number
  readonly baseUrl: string
  /** Milliseconds from spawn() to the first 200. */
  readonly startupMs: number
  /** The path that gave that 200: /health, or /users/1/tasks for a service without it. */
  readonly probe: string
  readonly exited: Promise<number | null>
  /** The last 8 kB of stdout and stderr, and how many bytes were written in all. */
  readonly output: () => string
  readonly outputBytes: () => number
}

export interface LaunchSpec {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly baseUrl: string
  readonly timeoutMs: number
}

// Groups still alive, so that an interrupted or crashed run does not leave servers behind.
const live = new Set<number>()
process.on("exit", () => {
  for (const group of live) signalGroup(group, "SIGKILL")
})

const signalGroup = (group: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(-group, signal)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const ok = async (url: string): Promise<number | undefined> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
    return response.status
  } catch {
    return undefined
  }
}

export const launch = async (spec: LaunchSpec): Promise<Running> => {
  const started = performance.now()
  // detached: its own process group, so that stop() also reaches what it spawns
  // (npm's shell, tsx's child, an embedded postgres) and nothing else.
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let tail = ""
  let bytes = 0
  const keep = (chunk: Buffer) => {
    bytes += chunk.length
    tail = (tail + chunk.toString("utf8")).slice(-8000)
  }
  child.stdout.on("data", keep)
  child.stderr.on("data", keep)
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code, signal) => {
      exitCode = code ?? (signal === null ? null : -1)
      resolve(exitCode)
    })
    // A command that cannot be run (not installed, say) never emits "exit".
    child.on("error", (error) => {
      tail += `\n${error.message}`
      exitCode ??= -2
      resolve(exitCode)
    })
  })
  const pid = child.pid
  if (pid === undefined) {
    await exited
    throw new Error(`${spec.name}: could not start \`${spec.command}\`: ${tail.trim()}`)
  }
  live.add(pid)
  const running = (probe: string, startupMs: number): Running => ({
    name: spec.name, pid, baseUrl: spec.baseUrl, startupMs, probe, exited, output: () => tail, outputBytes: () => bytes
  })
  let probe = "/health"
  while (performance.now() - started < spec.timeoutMs) {
    if (exitCode !== undefined) {
      await stop(running(probe, Number.NaN))
      throw new Error(`${spec.name} exited (${exitCode}) before answering 200:\n${tail}`)
    }
    const status = await ok(spec.baseUrl + probe)
    if (status === 200) return running(probe, performance.now() - started)
    // A service without /health yet: any 200 from the API shows it is serving.
    if (status === 404 && probe === "/health") probe = "/users/1/tasks"
    else await sleep(10)
  }
  await stop(running(probe, Number.NaN))
  throw new Error(`${spec.name}: no 200 within ${spec.timeoutMs} ms:\n${tail}`)
}

/**
 * A /proc/<pid>/stat line: the command name (between the first "(" and the last ")", as it may
 * itself contain spaces and parentheses) and the fields after it, from `state` (field 3) on,
 * so that utime and stime (fields 14 and 15) are `fields[11]` and `fields[12]`.
 */
export const parseStat = (stat: string): { readonly command: string; readonly fields: ReadonlyArray<string> } => {
  const close = stat.lastIndexOf(")")
  return { command: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).trim().split(" ") }
}

/** Every process in /proc: its pid, command name and the fields of its stat after the name. */
const processStats = (): Array<{ readonly pid: number; readonly command: string; readonly fields: ReadonlyArray<string> }> =>
  readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      return [{ pid: Number(entry), ...parseStat(readFileSync(`/proc/${entry}/stat`, "utf8")) }]
    } catch {
      return [] // a process that ended between the listing and the read
    }
  })

/** Live (not zombie) members of a process group. */
const groupMembers = (group: number): Array<number> =>
  processStats().flatMap(({ pid, fields: [state, , pgrp] }) => (Number(pgrp) === group && state !== "Z" ? [pid] : []))

export interface StopOptions {
  readonly graceMs?: number
  /**
   * Signal the whole group rather than the process: for `npm start`, which dies on SIGTERM
   * without passing it on, so the server underneath must get it directly.
   */
  readonly group?: boolean
}

/** SIGTERM, a grace period, then SIGKILL: only ever to this run's own process group. */
export const stop = async (target: Pick<Running, "pid" | "exited">, options: StopOptions = {}): Promise<number | null> => {
  const graceMs = options.graceMs ?? 10_000
  if (options.group === true) signalGroup(target.pid, "SIGTERM")
  else {
    try {
      process.kill(target.pid, "SIGTERM")
    } catch {
      // already gone
    }
  }
  const timedOut = Symbol("timeout")
  const first = await Promise.race([target.exited, sleep(graceMs).then(() => timedOut)])
  let code: number | null
  if (first === timedOut) {
    signalGroup(target.pid, "SIGKILL")
    code = await target.exited
  } else {
    code = typeof first === "number" ? first : null
  }
  // What outlived the leader (an embedded postgres shutting down, npm's children) gets the same grace.
  const deadline = performance.now() + graceMs
  if (groupMembers(target.pid).length > 0 && options.group !== true) signalGroup(target.pid, "SIGTERM")
  while (groupMembers(target.pid).length > 0 && performance.now() < deadline) await sleep(100)
  if (groupMembers(target.pid).length > 0) signalGroup(target.pid, "SIGKILL")
  live.delete(target.pid)
  return code
}

export interface ProcessStat {
  readonly rssKb: number
  readonly hwmKb: number
  readonly cpuTicks: number
}

/** VmRSS/VmHWM from /proc/<pid>/status and utime+stime from /proc/<pid>/stat. */
export const readStat = (pid: number): ProcessStat | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN)
    const { fields } = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"))
    const cpuTicks = Number(fields[11]) + Number(fields[12])
    return { rssKb: field("VmRSS"), hwmKb: field("VmHWM"), cpuTicks }
  } catch {
    return undefined
  }
}

export const CLOCK_TICKS_PER_SECOND = 100

/**
 * Nanoseconds on a CPU (from the scheduler, not clock ticks) of a process's main thread, where
 * node runs its event loop, and of all its threads (the main one, V8's GC and compiler helpers,
 * libuv's pool). Undefined when the process is gone.
 */
export const threadCpuNs = (pid: number): { readonly mainNs: number; readonly allNs: number } | undefined => {
  const onCpu = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
  try {
    let allNs = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        allNs += onCpu(tid)
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return { mainNs: onCpu(String(pid)), allNs }
  } catch {
    return undefined
  }
}

/**
 * CPU ticks of this process's children that have exited and been reaped (cutime + cstime).
 * Read around a wrk run, the difference is wrk's own CPU: the targets are not reaped meanwhile.
 */
export const reapedChildrenTicks = (): number => {
  const { fields } = parseStat(readFileSync("/proc/self/stat", "utf8"))
  return Number(fields[13]) + Number(fields[14])
}

/**
 * CPU ticks (utime + stime) of every PostgreSQL process on this machine: the server the targets
 * share and its backends, an embedded target's own cluster, and any other cluster or client's
 * backend that happens to run. Read around one target's scenario (targets run one at a time),
 * the difference is what that target's load cost the database, plus whatever else PostgreSQL
 * did meanwhile (autovacuum). Backends that exit within the run are not counted. `undefined`
 * when no PostgreSQL process runs here (a database on another machine or container).
 */
export const postgresTicks = (): number | undefined => postgresTicksOf(processStats())

/** The sum of utime + stime over the `postgres` processes of `stats`; `undefined` when there are none. */
export const postgresTicksOf = (
  stats: ReadonlyArray<{ readonly command: string; readonly fields: ReadonlyArray<string> }>
): number | undefined => {
  const postgres = stats.filter(({ command }) => command === "postgres")
  return postgres.length === 0
    ? undefined
    : postgres.reduce((ticks, { fields }) => ticks + Number(fields[11]) + Number(fields[12]), 0)
}

export interface Samples {
  readonly points: ReadonlyArray<{ readonly atMs: number; readonly rssKb: number }>
  readonly peakRssKb: number
  readonly cpuSeconds: number
  readonly elapsedSeconds: number
}

/** Samples the resident set every intervalMs until the returned function is called. */
export const sampleRss = (pid: number, intervalMs = 200): (() => Samples) => {
  const started = performance.now()
  const first = readStat(pid)
  const points: Array<{ atMs: number; rssKb: number }> = []
  const take = () => {
    const stat = readStat(pid)
    if (stat !== undefined) points.push({ atMs: Math.round(performance.now() - started), rssKb: stat.rssKb })
  }
  take()
  const timer = setInterval(take, intervalMs)
  return () => {
    clearInterval(timer)
    take()
    const last = readStat(pid)
    const ticks = first !== undefined && last !== undefined ? last.cpuTicks - first.cpuTicks : Number.NaN
    return {
      points,
      peakRssKb: points.reduce((peak, point) => Math.max(peak, point.rssKb), 0),
      cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
      elapsedSeconds: (performance.now() - started) / 1000
    }
  }
}
