/**
 * `npm run bench:promotion`: how much a young-generation collection promotes for a few ways of
 * running short units of work on Effect (issue 14: why the service's old generation fills).
 * Each pattern runs in a child process under `--trace-gc-nvp` with `npm start`'s young
 * generation (`--max-semi-space-size=16 --no-allocation-site-pretenuring`), on the node that
 * runs this script; the figures are averages over the scavenges after the first 20.
 *
 * A unit's ~30 KB dies when the unit ends, so a healthy pattern promotes next to nothing:
 * what it promotes, something kept alive past the unit's end (see the README, "Performance").
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const child = path.join(root, "bench", "promotion-child.ts")
const flags = ["--max-semi-space-size=16", "--no-allocation-site-pretenuring"]

interface Scavenge {
  readonly pause: number
  readonly promoted: number
  readonly survived: number
}

/** Scavenges from either format of `--trace-gc-nvp`: `key=value` (Node 20) or JSON (Node 22+). */
const scavenges = (trace: string): ReadonlyArray<Scavenge> =>
  trace.split("\n").flatMap((line): Array<Scavenge> => {
    const json = line.indexOf("GC: {")
    const fields: Record<string, unknown> = json >= 0
      ? JSON.parse(line.slice(json + 4)) as Record<string, unknown>
      : Object.fromEntries(line.trim().split(/\s+/).map((pair) => pair.split("=")))
    if (fields["gc"] !== "s") return []
    return [{
      pause: Number(fields["pause"]),
      promoted: Number(fields["promoted"]),
      survived: Number(fields["new_space_survived"] ?? fields["semi_space_copied"] ?? 0)
    }]
  })

const runPattern = (name: string): string => {
  const output = execFileSync(process.execPath, [...flags, "--trace-gc-nvp", "--import", "tsx", child], {
    cwd: root,
    env: { ...process.env, PROMOTION_PATTERN: name },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  const units = Number(/UNITS (\d+)/.exec(output)?.[1] ?? "0")
  const steady = scavenges(output).slice(20)
  const mean = (f: (s: Scavenge) => number) => steady.reduce((sum, s) => sum + f(s), 0) / Math.max(1, steady.length)
  const kb = (bytes: number) => (bytes / 1024).toFixed(0)
  return `| ${name} | ${units} | ${steady.length} | ${kb(mean((s) => s.survived))} | ${kb(mean((s) => s.promoted))} | ${
    mean((s) => s.pause).toFixed(2)
  } |`
}

const names = JSON.parse(
  execFileSync(process.execPath, ["--import", "tsx", child], { cwd: root, encoding: "utf8" })
) as ReadonlyArray<string>
console.log(`node ${process.version}, ${flags.join(" ")}`)
console.log("| pattern | units | scavenges | survived KB | promoted KB | pause ms |")
console.log("| --- | ---: | ---: | ---: | ---: | ---: |")
for (const name of names) console.log(runPattern(name))
