import { TARGETS } from "./config.ts"
import type { Target } from "./config.ts"
import type { WireCheck } from "./results.ts"
import type { Probe } from "./seed.ts"

/**
 * JSON is UTF-8 by definition (RFC 8259, which registers no charset parameter), and Fastify
 * adds "; charset=utf-8" to every JSON answer: the same media type, so the check compares
 * media types with that parameter dropped. Any other difference in the header still counts.
 */
export const mediaType = (contentType: string): string =>
  contentType
    .split(";")
    .map((part) => part.trim().toLowerCase())
    .filter((part, i) => i === 0 || part !== "charset=utf-8")
    .join("; ")

const same = (a: Probe, b: Probe): boolean =>
  a.status === b.status && mediaType(a.contentType) === mediaType(b.contentType) && a.body === b.body

/** Every target's probe answers against the first target's (the service, when it ran), byte for byte. */
export const wireCheck = (probes: Partial<Record<Target, ReadonlyArray<Probe>>>): WireCheck => {
  const present = TARGETS.filter((target) => probes[target] !== undefined)
  const reference = present[0]
  const expected = reference === undefined ? [] : probes[reference] ?? []
  const mismatches = present.slice(1).flatMap((target) =>
    expected.flatMap((probe, i) => {
      // Every target is asked the same fixed conversation, so answers pair up by position.
      const actual = probes[target]?.[i]
      return actual === undefined || same(probe, actual) ? [] : [{ target, name: probe.name, expected: probe, actual }]
    })
  )
  return { probes, reference, mismatches }
}
