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
/** Bytes of a string looked at one by one before searching natively for its end or next escape. */
const NEAR = 16

/**
 * A scan fed the text chunk by chunk, as it arrives: each call answers for everything fed so
 * far, so a body over a limit is refused at the chunk that crosses it, before the rest is
 * read, kept or copied. A string, or an escape in one, may span chunks. Once over a limit,
 * it stays over.
 *
 * Inside a string only a quote or a backslash matters: past the next few bytes, the scan jumps
 * to the next of each with `indexOf`, a native search (a 1 MiB string costs ~0.1 instead of
 * ~4.5 ms in a byte loop). Each search starts past the last one found, so a chunk is searched
 * at most once for each byte whatever it holds, and text dense with escapes is read byte by
 * byte as before.
 */
export const jsonScanner = (limits: ScanLimits): (chunk: Uint8Array) => ScanResult => {
  const { maxDepth, maxKeys } = limits
  // The state between chunks. Each call works on local copies (faster than the closure's).
  let depth = 0
  let keys = 0
  let inString = false
  let escaped = false // the previous chunk ended with the backslash of an escape
  let verdict: ScanResult = "ok"
  return (chunk) => {
    if (verdict !== "ok") return verdict
    const length = chunk.length
    let d = depth
    let k = keys
    let str = inString
    let i = 0
    if (escaped && length > 0) {
      escaped = false
      i = 1
    }
    // The next quote and backslash at or after the scan's position; -1: none in this chunk.
    let quote = -2
    let backslash = -2
    while (i < length) {
      if (str) {
        // The next few bytes by hand, escapes skipped as they come: where escapes come close
        // together, a search per escape would cost more than the bytes it skips.
        let near = i + NEAR < length ? i + NEAR : length
        while (i < near) {
          const byte = chunk[i]!
          if (byte === QUOTE) break
          if (byte === BACKSLASH) {
            i += 2 // the backslash and the byte it escapes, whatever that is
            near = i + NEAR < length ? i + NEAR : length
          } else {
            i++
          }
        }
        if (i > length) {
          // The chunk ended with the backslash of an escape.
          escaped = true
          break
        }
        if (i < near) {
          str = false // at the closing quote
          i++
          continue
        }
        if (i === length) break
        // Further on, a native search for each.
        if (quote !== -1 && quote < i) quote = chunk.indexOf(QUOTE, i)
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i)
        if (quote === -1 && backslash === -1) break // the string goes on in the next chunk
        i = quote === -1 ? backslash : backslash === -1 || quote < backslash ? quote : backslash
        continue
      }
      const byte = chunk[i++]
      if (byte === QUOTE) {
        str = true
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++d > maxDepth) {
          verdict = "too_deep"
          break
        }
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        d--
      } else if (byte === COLON) {
        // Outside strings a colon only ever follows an object key.
        if (++k > maxKeys) {
          verdict = "too_many_keys"
          break
        }
      }
    }
    depth = d
    keys = k
    inString = str
    return verdict
  }
}

/** The scan of a whole text at once. */
export const scanJson = (bytes: Uint8Array, limits: ScanLimits): ScanResult => jsonScanner(limits)(bytes)
