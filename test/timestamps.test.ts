import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Pg from "pg"
import { parseTimestamptz } from "../src/database/Timestamps.ts"

/** node-postgres' own parser: the reference the fast one must agree with. */
const reference: (text: string) => unknown = Pg.types.getTypeParser(Pg.types.builtins.TIMESTAMPTZ, "text")

const same = (text: string) => {
  const fast = parseTimestamptz(text)
  const slow = reference(text)
  if (slow instanceof Date && fast instanceof Date) expect(fast.getTime(), text).toBe(slow.getTime())
  else expect(fast, text).toEqual(slow)
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** Text in the shapes PostgreSQL writes `timestamptz` in with DateStyle ISO, and near misses. */
const timestamptzText = fc.record({
  year: fc.oneof(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1970, max: 2100 })),
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 31 }),
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.integer({ min: 0, max: 59 }),
  fraction: fc.option(fc.stringMatching(/^[0-9]{1,6}$/), { nil: undefined }),
  sign: fc.constantFrom("+", "-"),
  offset: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 30, 45), fc.constantFrom(0, 0, 12)),
  offsetParts: fc.constantFrom(1, 2, 3),
  bc: fc.boolean()
}).map((t) => {
  const offset = [pad(t.offset[0], 2), pad(t.offset[1], 2), pad(t.offset[2], 2)].slice(0, t.offsetParts).join(":")
  return `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}` +
    `${t.fraction === undefined ? "" : `.${t.fraction}`}${t.sign}${offset}${t.bc ? " BC" : ""}`
})

describe("timestamptz parsing", () => {
  it("reads every shape PostgreSQL writes as node-postgres does", () => {
    fc.assert(fc.property(timestamptzText, same), { numRuns: 5000 })
  })

  it("every millisecond fraction, and the edge cases, as node-postgres does", () => {
    for (let ms = 0; ms < 1000; ms++) same(`2026-11-26 08:05:05.${pad(ms, 3)}+00`)
    for (
      const text of [
        "2026-11-26 08:05:05+00",
        "2026-11-26 08:05:05.1+05:30",
        "2026-11-26 08:05:05.123456-03:30",
        "1901-01-01 00:00:00+00:19:32",
        "0099-01-01 00:00:00+00",
        "0001-01-01 00:00:00+00 BC",
        "10000-01-01 00:00:00+00",
        "infinity",
        "-infinity",
        "2026-11-26T08:05:05Z",
        "2026-11-26 08:05:05",
        "2026-13-45 25:61:61+00",
        "garbage text of some length"
      ]
    ) same(text)
  })
})
