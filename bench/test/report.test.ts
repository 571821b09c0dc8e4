import { describe, expect, it } from "@effect/vitest"
import { parseConfig } from "../lib/config.ts"
import type { Config, Scenario, Target } from "../lib/config.ts"
import { judge, summarize } from "../lib/results.ts"
import type { Results, ScenarioRun, TargetRound } from "../lib/results.ts"
import type { Probe } from "../lib/seed.ts"
import { formatTable } from "../lib/table.ts"
import { mediaType, wireCheck } from "../lib/wire.ts"
import type { WrkResult } from "../lib/wrk.ts"

/** What the runner concludes from measured figures: summaries, ratios, goals, the wire check, options. */
const wrk: WrkResult = {
  requests: 0, duration_us: 1, bytes: 0,
  errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
  latency_us: { min: 0, mean: 0, stdev: 0, max: 0, p50: 0, p90: 0, p99: 0, p999: 0 }
}
/**
 * One second of load: `rps` requests, `cpuUs` µs of the target's CPU for each and `dbUs` of
 * PostgreSQL's (absent, as in results from before the runner measured it, when not given).
 */
const run = (rps: number, p99Ms: number, peakRssMb = 100, cpuUs = 100, dbUs?: number): ScenarioRun => ({
  round: 0, rps, requests: rps, p50Ms: p99Ms / 4, p90Ms: p99Ms / 2, p99Ms, p999Ms: p99Ms * 2, maxMs: p99Ms * 3,
  socketErrors: 0, non2xx: 0, peakRssMb, cpuSeconds: (rps * cpuUs) / 1e6, cpuPercent: (100 * rps * cpuUs) / 1e6, wrkCpuPercent: 10, wrk,
  ...(dbUs === undefined ? {} : { dbCpuSeconds: (rps * dbUs) / 1e6 })
})
const round = (scenarios: Partial<Record<Scenario, ScenarioRun>>, skipped: Partial<Record<Scenario, string>> = {}): TargetRound => ({
  round: 0, startupMs: 100, startupProbe: "/health", rssAfterStartMb: 50, idleRssMb: 60, seedMs: 10,
  scenarios, skipped, hwmMb: 120, outputBytes: 0, exitCode: 0
})
const results = (rounds: Partial<Record<Target, Array<TargetRound>>>, before?: Results["before"]): Results => ({
  meta: {}, rounds, errors: [], ...(before === undefined ? {} : { before })
})
const verdicts = (r: Results, scenarios: ReadonlyArray<Scenario>, targets: ReadonlyArray<Target>) => {
  r.summary = summarize(r, scenarios, targets)
  return Object.fromEntries(judge(r).map((goal) => [goal.goal, goal.verdict]))
}

describe("goals", () => {
  it("judge the service against Fastify on req/s, p99 and memory, from the medians of the rounds", () => {
    const r = results({
      service: [round({ get: run(1000, 12, 110), mixed: run(900, 10, 130) }), round({ get: run(1100, 11, 100), mixed: run(950, 9, 125) }),
        round({ get: run(1200, 13, 105), mixed: run(800, 11, 119) })],
      fastify: [round({ get: run(1000, 10), mixed: run(1000, 10) }), round({ get: run(1000, 10), mixed: run(1000, 10) })]
    })
    expect(verdicts(r, ["get", "mixed"], ["service", "fastify"])).toEqual({
      "vs fastify (issue 14): get req/s >= 1.0x": "PASS",
      "vs fastify (issue 14): get p99 <= 1.2x": "PASS",
      "vs fastify (issue 14): mixed req/s >= 1.0x": "MISS",
      "vs fastify (issue 14): mixed p99 <= 1.2x": "PASS",
      "memory (issue 14): service peak RSS under mixed <= 120 MB": "MISS"
    })
    expect(r.summary?.scenarios.get?.vs.fastify?.rps).toBeCloseTo(1.1)
    expect(r.summary?.scenarios.get?.targets.service?.p999Ms.median).toBe(24)
  })

  it("judge a version 2 scenario against its plain one, and a skipped one as SKIP with the reason", () => {
    const r = results({
      service: [round({ get: run(1000, 10), "get-auth": run(850, 10), create: run(1000, 10) }, { "create-idem": "no Idempotency-Key" })]
    })
    const goals = verdicts(r, ["get", "create", "get-auth", "create-idem"], ["service"])
    expect(goals["feature (issue 14): get-auth req/s >= 0.9x get"]).toBe("MISS")
    expect(goals["feature (issue 14): create-idem req/s >= 0.7x create"]).toBe("SKIP")
    expect(judge(r).find((goal) => goal.verdict === "SKIP")?.value).toBe("skipped: no Idempotency-Key")
  })

  it("keep issue 5's goals against the baseline, labelled", () => {
    const r = results({ service: [round({ mixed: run(700, 10, 140) })], baseline: [round({ mixed: run(1000, 4) })] })
    expect(verdicts(r, ["mixed"], ["service", "baseline"])).toMatchObject({
      "vs baseline (issue 5): mixed req/s >= 0.8x": "MISS",
      "vs baseline (issue 5): mixed p99 <= 2x": "MISS",
      "memory (issue 5): service peak RSS under mixed <= 150 MB": "PASS"
    })
  })
})

describe("goals against the commit before (--before)", () => {
  const a463862 = { ref: "a463862", commit: "a463862cd630f2f50619efa92b169e6b838c259d", short: "a463862" }
  const plain = ["get", "list", "create", "update", "mixed"] as const
  const goalOf = (r: Results, scenarios: ReadonlyArray<Scenario> = plain) => {
    r.summary = summarize(r, scenarios, ["service", "before"])
    return judge(r).find((goal) => goal.goal.startsWith("issue 9/11"))
  }
  /** Five rounds of every plain scenario; `factor` scales the service's req/s in each. */
  const fiveRounds = (factor: Partial<Record<Scenario, number>>, serviceCpuUs = 100) => ({
    service: Array.from({ length: 5 }, () =>
      round(Object.fromEntries(plain.map((s) => [s, run(1000 * (factor[s] ?? 1), 10, 100, serviceCpuUs)])))),
    before: Array.from({ length: 5 }, () => round(Object.fromEntries(plain.map((s) => [s, run(1000, 10)]))))
  })

  it("pass when every plain scenario is at least 0.95x the commit before, over 5 rounds", () => {
    const goal = goalOf(results(fiveRounds({ get: 0.96, mixed: 1.2 }), a463862))
    expect(goal).toEqual({
      goal: "issue 9/11: every plain scenario within 5% of a463862 (service/before >= 0.95)",
      value: "get 0.96x (CPU/request 1.00x), list 1.00x (CPU/request 1.00x), create 1.00x (CPU/request 1.00x), " +
        "update 1.00x (CPU/request 1.00x), mixed 1.20x (CPU/request 1.00x)",
      verdict: "PASS"
    })
  })

  it("miss when one plain scenario is more than 5% slower, and give CPU per request beside req/s", () => {
    const r = results(fiveRounds({ update: 0.94 }, 130), a463862)
    expect(goalOf(r)?.verdict).toBe("MISS")
    expect(r.summary?.scenarios.update?.vs.before?.rps).toBeCloseTo(0.94)
    expect(r.summary?.scenarios.get?.targets.service?.cpuUsPerRequest.median).toBeCloseTo(130)
    expect(r.summary?.scenarios.get?.vs.before?.cpuPerRequest).toBeCloseTo(1.3)
  })

  it("say when the run is shorter than the criterion, and miss a scenario the commit before did not run", () => {
    const short = results({ service: [round({ get: run(1000, 10), list: run(1000, 10) })], before: [round({ get: run(1000, 10) })] }, a463862)
    const goal = goalOf(short, ["get", "list"])
    expect(goal?.verdict).toBe("MISS")
    expect(goal?.value).toBe(
      "get 1.00x (CPU/request 1.00x); not measured: list; 1 round(s), 1 of 5 plain scenarios: " +
        "the criterion asks for all of them over >= 5 rounds"
    )
  })

  it("skip when the commit before ran nothing, name a ref that is not a hash by its commit, and judge nothing without --before", () => {
    const ref = { ...a463862, ref: "main~90" }
    expect(goalOf(results({ service: [round({ get: run(1000, 10) })] }, ref), ["get"])).toEqual({
      goal: "issue 9/11: every plain scenario within 5% of main~90 (a463862) (service/before >= 0.95)",
      value: "not measured: no plain scenario ran on both",
      verdict: "SKIP"
    })
    expect(goalOf(results(fiveRounds({})))).toBeUndefined()
  })

  it("show the ratio rows service/before and CPU per request in the table, named by the commit", () => {
    const r = results(fiveRounds({ get: 0.9 }, 120), a463862)
    const config = parseConfig(["--before", "a463862", "--targets", "service,before", "--scenarios", "get"], {})
    if (config === "help") throw new Error("not a configuration")
    r.summary = summarize(r, ["get"], ["service", "before"])
    r.goals = judge(r)
    const lines = formatTable(r, config).split("\n")
    const row = (target: string) => lines.map((line) => line.trimEnd().split(/\s{2,}/)).find((cells) => cells[0] === "get" && cells[1] === target)
    // scenario, target, req/s, p50, p90, p99, p99.9, sock err, non-2xx, peak RSS, CPU %, CPU µs/req, DB µs/req, wrk CPU %
    expect(row("before a463862")?.[11]).toBe("100")
    expect(row("service")?.[11]).toBe("120")
    // Results without the database's CPU (older runs) say so rather than show a number.
    expect(row("service")?.[12]).toBe("n/a")
    expect(row("service/before a463862")).toEqual(["get", "service/before a463862", "0.90x", "1.00x", "1.00x", "1.00x", "1.00x", "1.00x", "1.20x"])
    expect(lines).toContain("  MISS  issue 9/11: every plain scenario within 5% of a463862 (service/before >= 0.95): " +
      "get 0.90x (CPU/request 1.20x); 5 round(s), 1 of 5 plain scenarios: the criterion asks for all of them over >= 5 rounds")
  })
})

describe("database CPU", () => {
  it("gives PostgreSQL's CPU per request for each target, its median over the rounds and the service/fastify ratio", () => {
    const r = results({
      service: [round({ get: run(1000, 10, 100, 80, 7) }), round({ get: run(1200, 10, 100, 80, 9) }), round({ get: run(1100, 10, 100, 80, 8) })],
      fastify: [round({ get: run(900, 10, 100, 100, 50) })]
    })
    const config = parseConfig(["--targets", "service,fastify", "--scenarios", "get", "--rounds", "3"], {})
    if (config === "help") throw new Error("not a configuration")
    r.summary = summarize(r, ["get"], ["service", "fastify"])
    expect(r.summary.scenarios.get?.targets.service?.dbUsPerRequest).toEqual({ median: 8, min: 7, max: 9 })
    expect(r.summary.scenarios.get?.vs.fastify?.dbPerRequest).toBeCloseTo(0.16)
    const cells = formatTable(r, config).split("\n").map((line) => line.trimEnd().split(/\s{2,}/))
    expect(cells.find((row) => row[0] === "scenario")?.indexOf("DB µs/req")).toBe(12)
    expect(cells.find((row) => row[0] === "get" && row[1] === "fastify")?.[12]).toBe("50")
    // The ratio row leaves the columns that have no ratio empty: req/s, p50, p90, p99, p99.9, peak RSS, CPU, DB.
    expect(cells.find((row) => row[0] === "get" && row[1] === "service/fastify"))
      .toEqual(["get", "service/fastify", "1.22x", "1.00x", "1.00x", "1.00x", "1.00x", "1.00x", "0.80x", "0.16x"])
  })
})

describe("wire check", () => {
  const probe = (contentType: string, body = "{}"): Probe => ({ name: "p", status: 200, contentType, body })

  it("treats JSON with charset=utf-8 as the same media type, and nothing else", () => {
    expect(mediaType("application/json; charset=utf-8")).toBe(mediaType("application/json"))
    expect(mediaType("application/json; charset=latin1")).not.toBe(mediaType("application/json"))
    expect(mediaType("text/plain")).not.toBe(mediaType("application/json"))
  })

  it("compares every target with the service, byte for byte", () => {
    const check = wireCheck({
      service: [probe("application/json")],
      baseline: [probe("application/json")],
      fastify: [probe("application/json; charset=utf-8", '{"a":1}')]
    })
    expect(check.reference).toBe("service")
    expect(check.mismatches.map((m) => m.target)).toEqual(["fastify"])
  })
})

describe("options", () => {
  it("default to 5 rounds and all three targets; --quick shortens, explicit options still win", () => {
    const full = parseConfig([], {})
    expect(full === "help" ? undefined : [full.rounds, full.duration, full.targets]).toEqual([5, 10, ["service", "baseline", "fastify"]])
    const quick = parseConfig(["--quick", "--duration", "5"], {})
    expect(quick === "help" ? undefined : [quick.rounds, quick.duration, quick.warmup, quick.startup]).toEqual([1, 5, 1, false])
  })

  const targetsOf = (config: Config | "help") => (config === "help" ? undefined : [config.before, config.targets])

  it("add the target before with --before or BENCH_BEFORE, right after the service", () => {
    expect(targetsOf(parseConfig([], {}))).toEqual([undefined, ["service", "baseline", "fastify"]])
    expect(targetsOf(parseConfig(["--before", "a463862"], {}))).toEqual(["a463862", ["service", "before", "baseline", "fastify"]])
    expect(targetsOf(parseConfig([], { BENCH_BEFORE: "main~3" }))).toEqual(["main~3", ["service", "before", "baseline", "fastify"]])
    expect(targetsOf(parseConfig(["--targets", "before,service"], { BENCH_BEFORE: "a463862" }))).toEqual(["a463862", ["service", "before"]])
    expect(targetsOf(parseConfig([], { BENCH_BEFORE: " " }))).toEqual([undefined, ["service", "baseline", "fastify"]])
  })

  it("refuse before without a ref, a ref without before, and a shared DATABASE_URL (not with --embedded)", () => {
    expect(() => parseConfig(["--targets", "service,before"], {})).toThrow("--targets before: needs --before <git-ref>")
    expect(() => parseConfig(["--before", "a463862", "--targets", "service"], {})).toThrow("--targets leaves out before")
    expect(() => parseConfig(["--before", "a463862"], { DATABASE_URL: "postgres://db/x" })).toThrow("unset DATABASE_URL")
    expect(targetsOf(parseConfig(["--before", "a463862", "--embedded", "--targets", "service,before"], { DATABASE_URL: "postgres://db/x" })))
      .toEqual(["a463862", ["service", "before"]])
  })
})
