import type { Scenario, Target } from "./config.ts"
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
  readonly maxMs: number
  /** connect + read + write + timeout errors, as wrk counts them. */
  readonly socketErrors: number
  /** Responses with a status >= 400 (neither target sends 1xx or 3xx). */
  readonly non2xx: number
  readonly peakRssMb: number
  /** CPU time of the target process over the scenario, in % of one core. */
  readonly cpuPercent: number
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
  readonly mismatches: ReadonlyArray<{ readonly name: string; readonly service: Probe; readonly baseline: Probe }>
}

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface ScenarioSummary {
  readonly rps: Spread
  readonly p50Ms: Spread
  readonly p99Ms: Spread
  readonly peakRssMb: Spread
  readonly cpuPercent: Spread
  readonly wrkCpuPercent: Spread
  readonly socketErrors: number
  readonly non2xx: number
}

export interface Summary {
  readonly scenarios: Partial<Record<Scenario, Partial<Record<Target, ScenarioSummary>> & { ratio?: Ratios }>>
  readonly startupMs: Partial<Record<Target, Spread>>
  readonly idleRssMb: Partial<Record<Target, Spread>>
}

/** service / baseline: of the medians, and of the highest peak RSS. */
export interface Ratios {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly peakRss: number
}

export interface Goal {
  readonly goal: string
  readonly value: string
  readonly pass: boolean
}

export interface Results {
  readonly meta: Record<string, unknown>
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

export const summarize = (results: Results, scenarios: ReadonlyArray<Scenario>, targets: ReadonlyArray<Target>): Summary => {
  const perScenario: Summary["scenarios"] = {}
  for (const scenario of scenarios) {
    const entry: Partial<Record<Target, ScenarioSummary>> & { ratio?: Ratios } = {}
    for (const target of targets) {
      const runs = (results.rounds[target] ?? []).flatMap((round) => {
        const run = round.scenarios[scenario]
        return run === undefined ? [] : [run]
      })
      if (runs.length === 0) continue
      entry[target] = {
        rps: spread(runs.map((run) => run.rps)),
        p50Ms: spread(runs.map((run) => run.p50Ms)),
        p99Ms: spread(runs.map((run) => run.p99Ms)),
        peakRssMb: spread(runs.map((run) => run.peakRssMb)),
        cpuPercent: spread(runs.map((run) => run.cpuPercent)),
        wrkCpuPercent: spread(runs.map((run) => run.wrkCpuPercent)),
        socketErrors: runs.reduce((sum, run) => sum + run.socketErrors, 0),
        non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0)
      }
    }
    const service = entry.service
    const baseline = entry.baseline
    if (service !== undefined && baseline !== undefined) {
      entry.ratio = {
        rps: service.rps.median / baseline.rps.median,
        p50: service.p50Ms.median / baseline.p50Ms.median,
        p99: service.p99Ms.median / baseline.p99Ms.median,
        peakRss: service.peakRssMb.max / baseline.peakRssMb.max
      }
    }
    perScenario[scenario] = entry
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

/** The targets of issue 5 and 4, judged on what this run measured. */
export const judge = (results: Results): ReadonlyArray<Goal> => {
  const goals: Array<Goal> = []
  const scenarios = results.summary?.scenarios ?? {}
  for (const [scenario, entry] of Object.entries(scenarios)) {
    const ratio = entry.ratio
    if (ratio === undefined) continue
    const floor = scenario === "mixed" ? 0.8 : 0.6
    goals.push({ goal: `${scenario}: req/s >= ${floor}x baseline`, value: `${fixed(ratio.rps)}x`, pass: ratio.rps >= floor })
    goals.push({ goal: `${scenario}: p99 <= 2x baseline`, value: `${fixed(ratio.p99)}x`, pass: ratio.p99 <= 2 })
  }
  const mixed = scenarios.mixed?.service
  if (mixed !== undefined) {
    const peak = mixed.peakRssMb.max
    goals.push({ goal: "mixed: service peak RSS <= 150 MB", value: `${fixed(peak, 1)} MB`, pass: peak <= 150 })
  }
  const soak = results.soak?.service
  if (soak !== undefined) {
    goals.push({
      goal: "soak: RSS at end <= 1.5x RSS at 15 s, no errors",
      value: `${fixed(soak.growth)}x, ${soak.socketErrors + soak.non2xx} errors, peak ${fixed(soak.peakRssMb, 1)} MB`,
      pass: soak.pass
    })
  }
  return goals
}
