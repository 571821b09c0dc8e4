import type { Config, Target } from "./config.ts"
import { beforeLabel, OTHERS } from "./results.ts"
import type { Ratios, Results, Spread } from "./results.ts"

const num = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a")
const withRange = (spread: Spread, digits = 0): string =>
  `${num(spread.median, digits)} (${num(spread.min, digits)}–${num(spread.max, digits)})`
const ratio = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? "" : `${value.toFixed(2)}x`)

const render = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)))
  return rows
    .map((row) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  "))
    .join("\n")
}

/** The human-readable report: medians with (min–max) over rounds, then the service's ratios to the others. */
export const formatTable = (results: Results, config: Config): string => {
  const lines: Array<string> = []
  const summary = results.summary
  const before = results.before
  // `before` carries its commit wherever it is named: a table is read without its command line.
  const name = (target: Target): string => (target === "before" && before !== undefined ? `before ${before.short}` : target)
  lines.push(
    `${config.rounds} round(s) × ${config.duration}s per scenario (+${config.warmup}s warm-up), ` +
      `${config.connections} connections, wrk ${config.threads} thread(s); medians, (min–max) over rounds; ` +
      `peak RSS: the highest of the rounds; CPU µs/req: the target's CPU time per request; ` +
      `DB µs/req: PostgreSQL's (every postgres process on the machine)`
  )
  if (before !== undefined) {
    lines.push(`before: the service at ${beforeLabel(before)} (${before.commit}), bundled and run like the service, plain scenarios only`)
  }
  if (summary !== undefined && Object.keys(summary.scenarios).length > 0) {
    const rows: Array<Array<string>> = [
      ["scenario", "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "sock err", "non-2xx", "peak RSS MB", "CPU %",
        "CPU µs/req", "DB µs/req", "wrk CPU %"]
    ]
    const skips: Array<string> = []
    const ratioRow = (scenario: string, label: string, r: Ratios) =>
      rows.push([scenario, label, ratio(r.rps), ratio(r.p50), ratio(r.p90), ratio(r.p99), ratio(r.p999), "", "", ratio(r.peakRss), "",
        ratio(r.cpuPerRequest), ratio(r.dbPerRequest), ""])
    for (const [scenario, entry] of Object.entries(summary.scenarios)) {
      for (const target of config.targets) {
        const s = entry.targets[target]
        if (s === undefined) continue
        rows.push([scenario, name(target), withRange(s.rps), num(s.p50Ms.median, 2), num(s.p90Ms.median, 2), num(s.p99Ms.median, 2),
          num(s.p999Ms.median, 2), String(s.socketErrors), String(s.non2xx), num(s.peakRssMb.max, 1), num(s.cpuPercent.median),
          num(s.cpuUsPerRequest.median), num(s.dbUsPerRequest.median), num(s.wrkCpuPercent.median)])
      }
      for (const other of OTHERS) {
        const r = entry.vs[other]
        if (r !== undefined) ratioRow(scenario, `service/${name(other)}`, r)
      }
      if (entry.reference !== undefined) ratioRow(scenario, `service/service ${entry.reference.scenario}`, entry.reference.ratios)
      if (entry.skipped !== undefined && entry.targets.service === undefined) skips.push(`${scenario}: skipped: ${entry.skipped}`)
    }
    lines.push("", render(rows), "")
    if (skips.length > 0) lines.push(...skips, "")
    const startRows: Array<Array<string>> = [["", "target", "start-up to first 200 ms", "idle RSS MB (after seeding)"]]
    for (const target of config.targets) {
      const startup = summary.startupMs[target]
      const idle = summary.idleRssMb[target]
      if (startup !== undefined && idle !== undefined) startRows.push(["", name(target), withRange(startup), withRange(idle, 1)])
    }
    if (startRows.length > 1) lines.push(render(startRows), "")
  }
  const embedded = results.startupEmbedded
  if (embedded !== undefined) {
    lines.push(
      embedded.error !== undefined
        ? `start-up (\`${embedded.command}\`, embedded database): failed: ${embedded.error.split("\n")[0]}`
        : `start-up (\`${embedded.command}\`, embedded database, to first 200 on ${embedded.freshProbe}): ` +
            `fresh DATA_DIR ${num(embedded.freshMs ?? Number.NaN)} ms, reopened ${num(embedded.reopenedMs ?? Number.NaN)} ms`,
      ""
    )
  }
  for (const [target, soak] of Object.entries(results.soak ?? {})) {
    lines.push(
      `soak (${target}, mixed, ${soak.seconds}s): ${num(soak.rps)} req/s, p99 ${num(soak.p99Ms, 2)} ms, ` +
        `${soak.socketErrors} socket errors, ${soak.non2xx} non-2xx; RSS ${num(soak.rssAt15sMb, 1)} MB at 15 s → ` +
        `${num(soak.rssAtEndMb, 1)} MB at end (${num(soak.growth, 2)}x), peak ${num(soak.peakRssMb, 1)} MB: ${soak.pass ? "PASS" : "FAIL"}`
    )
  }
  if (results.soak !== undefined) lines.push("")
  const wire = results.wire
  if (wire !== undefined && wire.reference !== undefined) {
    const count = wire.probes[wire.reference]?.length ?? 0
    for (const target of config.targets) {
      if (target === wire.reference || wire.probes[target] === undefined) continue
      const differ = wire.mismatches.filter((m) => m.target === target)
      lines.push(
        differ.length === 0
          ? `wire check, ${name(target)} vs ${wire.reference}: all ${count} probe responses identical (ids and timestamps blanked)`
          : `wire check, ${name(target)} vs ${wire.reference}: ${differ.length} of ${count} probe responses differ: ` +
              differ.map((m) => `${m.name} (${m.expected.status} vs ${m.actual.status})`).join(", ")
      )
    }
    lines.push("")
  }
  if (results.goals !== undefined && results.goals.length > 0) {
    lines.push("goals (issue 9/11: vs before; issue 14: vs fastify, memory, features; issue 5: vs baseline; issue 4: soak):")
    for (const goal of results.goals) lines.push(`  ${goal.verdict}  ${goal.goal}: ${goal.value}`)
    lines.push("")
  }
  for (const error of results.errors) lines.push(`error: ${error.split("\n")[0]}`)
  return lines.join("\n")
}

