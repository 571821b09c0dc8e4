import { isServiceScenario, PLAIN_SCENARIOS, referenceOf, SERVICE_SCENARIOS } from "./config.ts"
import type { PlainScenario, Scenario, ServiceScenario, Target } from "./config.ts"
import type { Probe } from "./seed.ts"
import type { WrkResult } from "./wrk.ts"

/** One scenario on one target in one round. Latencies in ms, memory in MB. */
export interface ScenarioRun {
  readonly round: number
  readonly rps: number
  readonly requests: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  /** connect + read + write + timeout errors, as wrk counts them. */
  readonly socketErrors: number
  /** Responses with a status >= 400 (neither target sends 1xx or 3xx). */
  readonly non2xx: number
  readonly peakRssMb: number
  /** CPU time of the target process over the scenario (10 ms ticks), in seconds. */
  readonly cpuSeconds: number
  /** The same, in % of one core. */
  readonly cpuPercent: number
  /** CPU time of every PostgreSQL process over the scenario, in seconds (absent in older results). */
  readonly dbCpuSeconds?: number
  /** CPU time of wrk itself, in % of one core: what the load generator takes from the machine. */
  readonly wrkCpuPercent: number
  readonly wrk: WrkResult
}

export interface TargetRound {
  readonly round: number
  readonly startupMs: number
  readonly startupProbe: string
  readonly rssAfterStartMb: number
  /** After seeding and a second of quiet. */
  readonly idleRssMb: number
  readonly seedMs: number
  readonly scenarios: Partial<Record<Scenario, ScenarioRun>>
  /** Service-only scenarios not run, with the reason (the service lacks the feature). */
  readonly skipped: Partial<Record<Scenario, string>>
  /** Lifetime peak (VmHWM) at the end of the round. */
  readonly hwmMb: number
  /** Bytes the process wrote to stdout and stderr over the round: logging has a cost too. */
  readonly outputBytes: number
  readonly exitCode: number | null
}

export interface SoakResult {
  readonly seconds: number
  readonly rps: number
  readonly p99Ms: number
  readonly socketErrors: number
  readonly non2xx: number
  readonly rssAt15sMb: number
  readonly rssAtEndMb: number
  readonly growth: number
  readonly peakRssMb: number
  readonly pass: boolean
  readonly timeline: ReadonlyArray<{ readonly atS: number; readonly rssMb: number }>
}

export interface StartupProbe {
  readonly command: string
  readonly freshMs: number | null
  readonly reopenedMs: number | null
  readonly freshProbe: string
  readonly error?: string
}

export interface WireCheck {
  readonly probes: Partial<Record<Target, ReadonlyArray<Probe>>>
  /** The target every other is compared with: the service when it ran. */
  readonly reference: Target | undefined
  readonly mismatches: ReadonlyArray<{ readonly target: Target; readonly name: string; readonly expected: Probe; readonly actual: Probe }>
}

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface ScenarioSummary {
  readonly rounds: number
  readonly rps: Spread
  readonly p50Ms: Spread
  readonly p90Ms: Spread
  readonly p99Ms: Spread
  readonly p999Ms: Spread
  readonly peakRssMb: Spread
  readonly cpuPercent: Spread
  /**
   * The target's CPU time per request, in µs: where PostgreSQL bounds req/s on this 2-core
   * machine, the service's own cost shows here and not in req/s.
   */
  readonly cpuUsPerRequest: Spread
  /**
   * PostgreSQL's CPU time per request, in µs: on 2 cores shared with the database, a target
   * that costs the database more per request leaves itself less CPU to serve with.
   */
  readonly dbUsPerRequest: Spread
  readonly wrkCpuPercent: Spread
  readonly socketErrors: number
  readonly non2xx: number
}

/** service / other: of the medians, and of the highest peak RSS. */
export interface Ratios {
  readonly rps: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly peakRss: number
  readonly cpuPerRequest: number
  readonly dbPerRequest: number
}

export type Other = Exclude<Target, "service">
export const OTHERS: ReadonlyArray<Other> = ["before", "baseline", "fastify"]

/** The commit the `before` target was built from (--before). */
export interface BeforeRef {
  readonly ref: string
  readonly commit: string
  readonly short: string
}

/** How reports name it: its short hash, after the ref as given when that is not a hash of it. */
export const beforeLabel = (before: BeforeRef): string =>
  before.commit.startsWith(before.ref.toLowerCase()) ? before.short : `${before.ref} (${before.short})`

export interface ScenarioEntry {
  readonly targets: Partial<Record<Target, ScenarioSummary>>
  /** The service against each other target that ran this scenario. */
  readonly vs: Partial<Record<Other, Ratios>>
  /** A service-only scenario against the plain one it adds a feature to, in the same run. */
  readonly reference?: { readonly scenario: PlainScenario; readonly ratios: Ratios }
  /** Why the service skipped it (every round that skipped gives the same reason). */
  readonly skipped?: string
}

export interface Summary {
  readonly scenarios: Partial<Record<Scenario, ScenarioEntry>>
  readonly startupMs: Partial<Record<Target, Spread>>
  readonly idleRssMb: Partial<Record<Target, Spread>>
}

export interface Goal {
  readonly goal: string
  readonly value: string
  /** "skip": what it judges did not run (a feature the service lacks, a target left out). */
  readonly verdict: "PASS" | "MISS" | "SKIP"
}

export interface Results {
  readonly meta: Record<string, unknown>
  /** Set when the run had a `before` target. */
  readonly before?: BeforeRef
  rounds: Partial<Record<Target, Array<TargetRound>>>
  summary?: Summary
  startupEmbedded?: StartupProbe
  soak?: Partial<Record<Target, SoakResult>>
  wire?: WireCheck
  goals?: ReadonlyArray<Goal>
  errors: Array<string>
}

export const spread = (values: ReadonlyArray<number>): Spread => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

const summarizeRuns = (runs: ReadonlyArray<ScenarioRun>): ScenarioSummary => ({
  rounds: runs.length,
  rps: spread(runs.map((run) => run.rps)),
  p50Ms: spread(runs.map((run) => run.p50Ms)),
  p90Ms: spread(runs.map((run) => run.p90Ms)),
  p99Ms: spread(runs.map((run) => run.p99Ms)),
  p999Ms: spread(runs.map((run) => run.p999Ms)),
  peakRssMb: spread(runs.map((run) => run.peakRssMb)),
  cpuPercent: spread(runs.map((run) => run.cpuPercent)),
  cpuUsPerRequest: spread(runs.map((run) => (1e6 * run.cpuSeconds) / run.requests)),
  dbUsPerRequest: spread(runs.map((run) => (1e6 * (run.dbCpuSeconds ?? Number.NaN)) / run.requests)),
  wrkCpuPercent: spread(runs.map((run) => run.wrkCpuPercent)),
  socketErrors: runs.reduce((sum, run) => sum + run.socketErrors, 0),
  non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0)
})

const ratiosOf = (a: ScenarioSummary, b: ScenarioSummary): Ratios => ({
  rps: a.rps.median / b.rps.median,
  p50: a.p50Ms.median / b.p50Ms.median,
  p90: a.p90Ms.median / b.p90Ms.median,
  p99: a.p99Ms.median / b.p99Ms.median,
  p999: a.p999Ms.median / b.p999Ms.median,
  peakRss: a.peakRssMb.max / b.peakRssMb.max,
  cpuPerRequest: a.cpuUsPerRequest.median / b.cpuUsPerRequest.median,
  dbPerRequest: a.dbUsPerRequest.median / b.dbUsPerRequest.median
})

export const summarize = (results: Results, scenarios: ReadonlyArray<Scenario>, targets: ReadonlyArray<Target>): Summary => {
  const runsOf = (target: Target, scenario: Scenario) =>
    (results.rounds[target] ?? []).flatMap((round) => {
      const run = round.scenarios[scenario]
      return run === undefined ? [] : [run]
    })
  const perTarget = (scenario: Scenario): Partial<Record<Target, ScenarioSummary>> => {
    const out: Partial<Record<Target, ScenarioSummary>> = {}
    for (const target of targets) {
      const runs = runsOf(target, scenario)
      if (runs.length > 0) out[target] = summarizeRuns(runs)
    }
    return out
  }
  const perScenario: Summary["scenarios"] = {}
  for (const scenario of scenarios) {
    const summaries = perTarget(scenario)
    const service = summaries.service
    const vs: Partial<Record<Other, Ratios>> = {}
    for (const other of OTHERS) {
      const theirs = summaries[other]
      if (service !== undefined && theirs !== undefined) vs[other] = ratiosOf(service, theirs)
    }
    let reference: ScenarioEntry["reference"]
    if (isServiceScenario(scenario) && service !== undefined) {
      const plain = perTarget(referenceOf[scenario]).service
      if (plain !== undefined) reference = { scenario: referenceOf[scenario], ratios: ratiosOf(service, plain) }
    }
    const skipped = (results.rounds.service ?? []).map((round) => round.skipped[scenario]).find((why) => why !== undefined)
    perScenario[scenario] = {
      targets: summaries, vs,
      ...(reference === undefined ? {} : { reference }),
      ...(skipped === undefined ? {} : { skipped })
    }
  }
  const over = (pick: (round: TargetRound) => number) => {
    const out: Partial<Record<Target, Spread>> = {}
    for (const target of targets) {
      const rounds = results.rounds[target] ?? []
      if (rounds.length > 0) out[target] = spread(rounds.map(pick))
    }
    return out
  }
  return {
    scenarios: perScenario,
    startupMs: over((round) => round.startupMs),
    idleRssMb: over((round) => round.idleRssMb)
  }
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a")
const verdict = (pass: boolean): Goal["verdict"] => (pass ? "PASS" : "MISS")

/** Feature scenarios: throughput with the feature against the plain scenario (issue 14's companions). */
const FEATURE_FLOORS: Record<ServiceScenario, number> = { "get-auth": 0.9, "list-page": 0.9, "create-idem": 0.7, "update-if-match": 0.9 }

/** Issues 9 and 11: every plain scenario within 5% of the commit before the work, over at least 5 rounds. */
const BEFORE_FLOOR = 0.95
const BEFORE_ROUNDS = 5

/**
 * service/before req/s of every plain scenario the run has, judged together; the value also gives
 * CPU per request, and says so when the run is shorter than the criterion (fewer rounds or scenarios).
 */
const beforeGoal = (before: BeforeRef, plain: ReadonlyArray<readonly [PlainScenario, ScenarioEntry]>): Goal => {
  const goal = `issue 9/11: every plain scenario within 5% of ${beforeLabel(before)} (service/before >= ${BEFORE_FLOOR})`
  const measured = plain.flatMap(([scenario, entry]) => {
    const ratio = entry.vs.before
    const rounds = Math.min(entry.targets.service?.rounds ?? 0, entry.targets.before?.rounds ?? 0)
    return ratio === undefined ? [] : [{ scenario, ratio, rounds }]
  })
  const unmeasured = plain.filter(([, entry]) => entry.vs.before === undefined).map(([scenario]) => scenario)
  if (measured.length === 0) return { goal, value: "not measured: no plain scenario ran on both", verdict: "SKIP" }
  const parts = [measured.map((m) => `${m.scenario} ${fixed(m.ratio.rps)}x (CPU/request ${fixed(m.ratio.cpuPerRequest)}x)`).join(", ")]
  if (unmeasured.length > 0) parts.push(`not measured: ${unmeasured.join(", ")}`)
  const rounds = Math.min(...measured.map((m) => m.rounds))
  if (rounds < BEFORE_ROUNDS || measured.length < PLAIN_SCENARIOS.length) {
    parts.push(
      `${rounds} round(s), ${measured.length} of ${PLAIN_SCENARIOS.length} plain scenarios: ` +
        `the criterion asks for all of them over >= ${BEFORE_ROUNDS} rounds`
    )
  }
  // A ratio that is not a number (no requests) is not within 5% either.
  const within = measured.every((m) => m.ratio.rps >= BEFORE_FLOOR)
  return { goal, value: parts.join("; "), verdict: verdict(within && unmeasured.length === 0) }
}

/**
 * The goals of issues 9/11 (vs the commit before, with --before), 14 (vs Fastify, memory,
 * version 2 features), 5 (vs the baseline) and 4 (soak).
 */
export const judge = (results: Results): ReadonlyArray<Goal> => {
  const goals: Array<Goal> = []
  const scenarios = results.summary?.scenarios ?? {}
  const plain = PLAIN_SCENARIOS.flatMap((scenario) => {
    const entry = scenarios[scenario]
    return entry === undefined ? [] : [[scenario, entry] as const]
  })
  if (results.before !== undefined) goals.push(beforeGoal(results.before, plain))
  for (const [scenario, entry] of plain) {
    const ratio = entry.vs.fastify
    if (ratio === undefined) continue
    goals.push({ goal: `vs fastify (issue 14): ${scenario} req/s >= 1.0x`, value: `${fixed(ratio.rps)}x`, verdict: verdict(ratio.rps >= 1) })
    goals.push({ goal: `vs fastify (issue 14): ${scenario} p99 <= 1.2x`, value: `${fixed(ratio.p99)}x`, verdict: verdict(ratio.p99 <= 1.2) })
  }
  const mixed = scenarios.mixed?.targets.service
  if (mixed !== undefined) {
    const peak = mixed.peakRssMb.max
    goals.push({ goal: "memory (issue 14): service peak RSS under mixed <= 120 MB", value: `${fixed(peak, 1)} MB`, verdict: verdict(peak <= 120) })
  }
  for (const scenario of SERVICE_SCENARIOS) {
    const entry = scenarios[scenario]
    if (entry === undefined) continue
    const floor = FEATURE_FLOORS[scenario]
    const name = `feature (issue 14): ${scenario} req/s >= ${floor}x ${referenceOf[scenario]}`
    if (entry.reference !== undefined) {
      goals.push({ goal: name, value: `${fixed(entry.reference.ratios.rps)}x`, verdict: verdict(entry.reference.ratios.rps >= floor) })
    } else if (entry.skipped !== undefined) {
      goals.push({ goal: name, value: `skipped: ${entry.skipped}`, verdict: "SKIP" })
    } else if (entry.targets.service !== undefined) {
      goals.push({ goal: name, value: `not judged: ${referenceOf[scenario]} did not run`, verdict: "SKIP" })
    }
  }
  for (const [scenario, entry] of plain) {
    const ratio = entry.vs.baseline
    if (ratio === undefined) continue
    const floor = scenario === "mixed" ? 0.8 : 0.6
    goals.push({ goal: `vs baseline (issue 5): ${scenario} req/s >= ${floor}x`, value: `${fixed(ratio.rps)}x`, verdict: verdict(ratio.rps >= floor) })
    goals.push({ goal: `vs baseline (issue 5): ${scenario} p99 <= 2x`, value: `${fixed(ratio.p99)}x`, verdict: verdict(ratio.p99 <= 2) })
  }
  if (mixed !== undefined && scenarios.mixed?.vs.baseline !== undefined) {
    const peak = mixed.peakRssMb.max
    goals.push({ goal: "memory (issue 5): service peak RSS under mixed <= 150 MB", value: `${fixed(peak, 1)} MB`, verdict: verdict(peak <= 150) })
  }
  const soak = results.soak?.service
  if (soak !== undefined) {
    goals.push({
      goal: "soak (issue 4): RSS at end <= 1.5x RSS at 15 s, no errors",
      value: `${fixed(soak.growth)}x, ${soak.socketErrors + soak.non2xx} errors, peak ${fixed(soak.peakRssMb, 1)} MB`,
      verdict: verdict(soak.pass)
    })
  }
  return goals
}
