/**
 * A structural pre-check of JSON text, before `JSON.parse`: how deep it nests and how many
 * object keys it has in all. No valid payload of a small API comes near either limit, and
 * `JSON.parse` of 1 MiB of brackets or of 100,000 keys costs tens of milliseconds of the event
 * loop (measured ~150 ms and ~55 ms) where this byte loop costs about one. Only structure is
 * checked: anything it lets through is still parsed and validated as usual.
 */
export type ScanResult = "ok" | "too_deep" | "too_many_keys"

export interface ScanLimits {
  readonly maxDepth: number
  readonly maxKeys: number
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d

/**
 * A scan fed the text chunk by chunk, as it arrives: each call answers for everything fed so
 * far, so a body over a limit is refused at the chunk that crosses it, before the rest is
 * read, kept or copied. A string, or an escape in one, may span chunks. Once over a limit,
 * it stays over.
 */
export const jsonScanner = (limits: ScanLimits): (chunk: Uint8Array) => ScanResult => {
  let depth = 0
  let keys = 0
  let inString = false
  let escaped = false
  let verdict: ScanResult = "ok"
  return (chunk) => {
    if (verdict !== "ok") return verdict
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!
      if (inString) {
        if (escaped) escaped = false
        else if (byte === BACKSLASH) escaped = true
        else if (byte === QUOTE) inString = false
        continue
      }
      switch (byte) {
        case QUOTE:
          inString = true
          break
        case OPEN_BRACE:
        case OPEN_BRACKET:
          if (++depth > limits.maxDepth) return (verdict = "too_deep")
          break
        case CLOSE_BRACE:
        case CLOSE_BRACKET:
          depth--
          break
        // Outside strings a colon only ever follows an object key.
        case COLON:
          if (++keys > limits.maxKeys) return (verdict = "too_many_keys")
          break
      }
    }
    return "ok"
  }
}

/** The scan of a whole text at once. */
export const scanJson = (bytes: Uint8Array, limits: ScanLimits): ScanResult => jsonScanner(limits)(bytes)
