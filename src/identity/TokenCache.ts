import * as Crypto from "node:crypto"

/**
 * Verified tokens, remembered so that a client sending the same token again costs a hash and
 * a map lookup instead of a signature check. Bounded: at most `capacity` entries, the least
 * recently used leaving first. An entry is answered only before `expiresAtMillis` (the
 * token's `exp`), never after: a later use verifies afresh, and that decides.
 *
 * Keyed by the token itself up to `MAX_PLAIN_KEY` characters (a self-issued token is ~200,
 * an identity provider's ~1,000), so at most ~10 MB for 10,000 entries; a longer token by its
 * SHA-256, which costs more than the lookup it saves (measured: hashing ~2-15 µs under load,
 * against well under 1 µs for the lookup). The key must identify the token exactly: a
 * collision would answer for a token that was never verified.
 */
export interface TokenCache<A> {
  readonly get: (token: string, now: number) => A | undefined
  readonly set: (token: string, value: A, expiresAtMillis: number) => void
  readonly size: () => number
}

export const MAX_PLAIN_KEY = 1024

// A hashed key is 44 characters, a plain one at most 1024: the "#" keeps the two kinds apart.
const keyOf = (token: string): string =>
  token.length <= MAX_PLAIN_KEY ? token : `#${Crypto.createHash("sha256").update(token).digest("base64")}`

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
