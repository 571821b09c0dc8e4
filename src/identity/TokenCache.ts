import * as Crypto from "node:crypto"

/**
 * Verified tokens, remembered so that a client sending the same token again costs a hash and
 * a map lookup instead of a signature check. Bounded: at most `capacity` entries, the least
 * recently used leaving first. Keyed by the token's SHA-256, so an entry is ~100 bytes
 * whatever the token's length. An entry is answered only before `expiresAtMillis` (the
 * token's `exp`), never after: a later use verifies afresh, and that decides.
 */
export interface TokenCache<A> {
  readonly get: (token: string, now: number) => A | undefined
  readonly set: (token: string, value: A, expiresAtMillis: number) => void
  readonly size: () => number
}

const keyOf = (token: string): string => Crypto.createHash("sha256").update(token).digest("base64")

export const makeTokenCache = <A>(capacity: number): TokenCache<A> => {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, { readonly value: A; readonly expiresAtMillis: number }>()
  return {
    get: (token, now) => {
      const key = keyOf(token)
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      entries.delete(key)
      if (now >= entry.expiresAtMillis) return undefined
      entries.set(key, entry)
      return entry.value
    },
    set: (token, value, expiresAtMillis) => {
      if (capacity <= 0) return
      const key = keyOf(token)
      entries.delete(key)
      if (entries.size >= capacity) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
      entries.set(key, { value, expiresAtMillis })
    },
    size: () => entries.size
  }
}
