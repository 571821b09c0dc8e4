import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { jsonScanner, scanJson } from "../src/httpapi/JsonScan.ts"

const limits = { maxDepth: 3, maxKeys: 2 }
const bytes = (text: string) => Buffer.from(text, "utf8")

/** The verdicts of a scanner fed `text` cut at every position given. */
const fedInPieces = (text: string, cuts: ReadonlyArray<number>) => {
  const scan = jsonScanner(limits)
  const ends = [...cuts, text.length]
  let start = 0
  const verdicts: Array<string> = []
  for (const end of ends) {
    verdicts.push(scan(bytes(text.slice(start, end))))
    start = end
  }
  return verdicts
}

describe("JSON structure scan", () => {
  it("counts depth and keys outside strings only, escapes included", () => {
    expect(scanJson(bytes(`{"a":[[1]]}`), limits)).toBe("ok")
    expect(scanJson(bytes(`{"a":[[[1]]]}`), limits)).toBe("too_deep")
    expect(scanJson(bytes(`{"a":1,"b":2,"c":3}`), limits)).toBe("too_many_keys")
    // Brackets, colons and escaped quotes inside strings are text.
    expect(scanJson(bytes(`{"a":"[[[[:::\\"[[[[:::"}`), limits)).toBe("ok")
  })

  it("fed chunk by chunk, gives the verdict of the whole text, whatever the cuts", () => {
    const text = `{"a":"x\\"[[[[::","b":[[1]]}`
    for (let cut = 1; cut < text.length; cut++) {
      // Every cut, including between a backslash and the quote it escapes.
      expect(fedInPieces(text, [cut])).toEqual(["ok", "ok"])
    }
    const deep = `{"a":"\\\\",  "b":[[[1]]]}`
    for (let cut = 1; cut < deep.length; cut++) {
      // An escaped backslash ends its escape: the quote after it closes the string.
      expect(fedInPieces(deep, [cut])).toContain("too_deep")
    }
  })

  it("refuses at the chunk that crosses a limit, and stays refused", () => {
    expect(fedInPieces(`[[[[` + "1".repeat(10) + `]]]]`, [4])).toEqual(["too_deep", "too_deep"])
    expect(fedInPieces(`{"a":1,"b":2,"c":3}`, [13])).toEqual(["ok", "too_many_keys"])
  })

  it("agrees with the parsed value's depth and key count, for any JSON cut into any chunks", () => {
    const small = { maxDepth: 3, maxKeys: 5 }
    const depthOf = (value: unknown): number =>
      typeof value === "object" && value !== null
        ? 1 + Math.max(0, ...Object.values(value).map(depthOf))
        : 0
    const keysOf = (value: unknown): number =>
      typeof value === "object" && value !== null
        ? (Array.isArray(value) ? 0 : Object.keys(value).length) + Object.values(value).reduce((n: number, v) => n + keysOf(v), 0)
        : 0
    // Strings full of what the scan must see past: quotes, backslashes, brackets, colons.
    const tricky = fc.string({ unit: fc.constantFrom("\"", "\\", "[", "{", ":", "]", "}", "a", "é", "\u2028") })
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        tricky,
        fc.integer(),
        fc.constant(null),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(tricky, tie("node"), { maxKeys: 4 })
      )
    })).node
    fc.assert(
      fc.property(value, fc.array(fc.nat(), { maxLength: 6 }), (parsed, rawCuts) => {
        const text = bytes(JSON.stringify(parsed))
        const cuts = [...new Set(rawCuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b)
        const scan = jsonScanner(small)
        let start = 0
        let verdict = "ok"
        for (const end of [...cuts, text.length]) {
          verdict = scan(text.subarray(start, end))
          start = end
        }
        const tooDeep = depthOf(parsed) > small.maxDepth
        const tooWide = keysOf(parsed) > small.maxKeys
        if (!tooDeep && !tooWide) expect(verdict).toBe("ok")
        else expect([tooDeep && "too_deep", tooWide && "too_many_keys"]).toContain(verdict)
      }),
      { numRuns: 2000 }
    )
  })

  it("reads a 1 MiB string of escapes, or of plain text, as one string", () => {
    // Escaped backslashes and escaped quotes back to back (read by the byte loop) and plain
    // text (crossed by the native search): each is one string, closed by its last quote.
    const mib = 1024 * 1024
    for (const inner of ["\\\\", "\\\"", "a"]) {
      const body = bytes(`"${inner.repeat((mib - 2) / inner.length)}"`)
      expect(scanJson(body, limits)).toBe("ok")
    }
  })
})
