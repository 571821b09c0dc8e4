import { describe, expect, it } from "@effect/vitest"
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
})
