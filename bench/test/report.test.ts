import { describe, expect, it } from "@effect/vitest"
import { parseConfig } from "../lib/config.ts"
import type { Scenario, Target } from "../lib/config.ts"
import { judge, summarize } from "../lib/results.ts"
import type { Results, ScenarioRun, TargetRound } from "../lib/results.ts"
import type { Probe } from "../lib/seed.ts"
import { mediaType, wireCheck } from "../lib/wire.ts"
import type { WrkResult } from "../lib/wrk.ts"

/** What the runner concludes from measured figures: summaries, ratios, goals, the wire check, options. */
const wrk: WrkResult = {
  requests: 0, duration_us: 1, bytes: 0,
  errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
  latency_us: { min: 0, mean: 0, stdev: 0, max: 0, p50: 0, p90: 0, p99: 0, p999: 0 }
}
const run = (rps: number, p99Ms: number, peakRssMb = 100): ScenarioRun => ({
  round: 0, rps, requests: rps, p50Ms: p99Ms / 4, p90Ms: p99Ms / 2, p99Ms, p999Ms: p99Ms * 2, maxMs: p99Ms * 3,
  socketErrors: 0, non2xx: 0, peakRssMb, cpuPercent: 90, wrkCpuPercent: 10, wrk
})
const round = (scenarios: Partial<Record<Scenario, ScenarioRun>>, skipped: Partial<Record<Scenario, string>> = {}): TargetRound => ({
  round: 0, startupMs: 100, startupProbe: "/health", rssAfterStartMb: 50, idleRssMb: 60, seedMs: 10,
  scenarios, skipped, hwmMb: 120, outputBytes: 0, exitCode: 0
})
const results = (rounds: Partial<Record<Target, Array<TargetRound>>>): Results => ({ meta: {}, rounds, errors: [] })
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
})
