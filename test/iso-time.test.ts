import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { isoString } from "../src/schema/IsoTime.ts"

/** 10000-01-01T00:00:00.000Z. */
const END = Date.UTC(10000, 0, 1)

describe("ISO strings in arithmetic", () => {
  it("writes what toISOString writes, from 1970 to 9999, and nothing outside", () => {
    fc.assert(
      fc.property(fc.integer({ min: -END, max: 2 * END }), (millis) => {
        expect(isoString(new Date(millis))).toBe(millis >= 0 && millis < END ? new Date(millis).toISOString() : undefined)
      }),
      { numRuns: 20_000 }
    )
  })

  it("gets the edges of days, months, leap years and the range right", () => {
    const edges = [
      0,
      END - 1,
      Date.UTC(1972, 1, 29),
      Date.UTC(1972, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12),
      Date.UTC(2000, 2, 1) - 1,
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(2400, 1, 29),
      Date.UTC(2026, 11, 1, 13, 48, 11, 661)
    ]
    for (const millis of edges) expect(isoString(new Date(millis))).toBe(new Date(millis).toISOString())
    for (const millis of [-1, END, Number.NaN, Infinity, -Infinity]) expect(isoString(new Date(millis))).toBeUndefined()
  })
})
