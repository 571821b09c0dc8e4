import * as Jose from "jose"

/**
 * An identity provider's JSON Web Key Set, fetched over HTTP and kept in memory.
 *
 * Not jose's `createRemoteJWKSet`, because of what it does when the provider is down: once
 * its cache ages it refetches before every verification and fails them all, even for keys it
 * holds, and after a failed fetch it tries again on the very next token. Here:
 * - keys once fetched stay usable; a set older than `maxAge` is refreshed in the background
 *   and replaced only by a successful fetch;
 * - a token naming a `kid` that is not held triggers a fetch, at most one per `cooldown`
 *   after a successful fetch (the contract's "at most once a minute"), and at most one per
 *   `failureCooldown` after a failed one, so an outage costs the provider little;
 * - concurrent callers share one fetch, which is abandoned after `timeout`.
 */

/** The key set could not be fetched and the token needs a key that is not held. */
export class KeySetFetchFailed extends Error {
  override readonly name = "KeySetFetchFailed"
}

export interface KeySetOptions {
  readonly url: URL
  readonly timeoutMillis: number
  readonly cooldownMillis: number
  readonly failureCooldownMillis: number
  readonly maxAgeMillis: number
  /** A larger answer is refused unread: a key set is a few kilobytes. */
  readonly maxBytes: number
}

export const defaultKeySetOptions = (url: URL): KeySetOptions => ({
  url,
  timeoutMillis: 4_000,
  cooldownMillis: 60_000,
  failureCooldownMillis: 5_000,
  maxAgeMillis: 10 * 60_000,
  maxBytes: 1024 * 1024
})

type Resolver = ReturnType<typeof Jose.createLocalJWKSet>

const readBounded = async (response: Response, maxBytes: number): Promise<string> => {
  const declared = Number(response.headers.get("content-length") ?? "0")
  if (declared > maxBytes) throw new KeySetFetchFailed("The key set answer is too large")
  const reader = response.body?.getReader()
  if (reader === undefined) return ""
  const chunks: Array<Uint8Array> = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      await reader.cancel()
      throw new KeySetFetchFailed("The key set answer is too large")
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString("utf8")
}

const isKeySet = (json: unknown): json is Jose.JSONWebKeySet =>
  typeof json === "object" && json !== null && "keys" in json && Array.isArray(json.keys)

const fetchKeys = async (options: KeySetOptions): Promise<Resolver> => {
  const signal = AbortSignal.timeout(options.timeoutMillis)
  try {
    const response = await fetch(options.url, {
      signal,
      redirect: "manual",
      headers: { accept: "application/jwk-set+json, application/json" }
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new KeySetFetchFailed(`The key set answered HTTP ${response.status}`)
    }
    const json: unknown = JSON.parse(await readBounded(response, options.maxBytes))
    if (!isKeySet(json)) throw new KeySetFetchFailed("The key set answer is not a JSON Web Key Set")
    return Jose.createLocalJWKSet(json)
  } catch (cause) {
    if (cause instanceof KeySetFetchFailed) throw cause
    throw new KeySetFetchFailed(
      signal.aborted ? "The key set did not answer in time" : "The key set could not be fetched or parsed",
      { cause }
    )
  }
}

export interface KeySet {
  /** The key for a token's protected header; rejects with `KeySetFetchFailed` or a jose error. */
  readonly getKey: (header: Jose.JWSHeaderParameters, token: Jose.FlattenedJWSInput) => Promise<Jose.CryptoKey>
}

export const makeKeySet = (options: KeySetOptions): KeySet => {
  let keys: Resolver | undefined
  let fetchedAt = Number.NEGATIVE_INFINITY
  let failedAt = Number.NEGATIVE_INFINITY
  let pending: Promise<Resolver> | undefined

  const refresh = (): Promise<Resolver> => {
    pending ??= fetchKeys(options).then(
      (next) => {
        keys = next
        fetchedAt = Date.now()
        return next
      },
      (error: unknown) => {
        failedAt = Date.now()
        throw error
      }
    ).finally(() => {
      pending = undefined
    })
    return pending
  }

  const mayFetch = (now: number): boolean =>
    now >= fetchedAt + options.cooldownMillis && now >= failedAt + options.failureCooldownMillis

  const getKey: KeySet["getKey"] = async (header, token) => {
    const now = Date.now()
    let held = keys
    if (held === undefined) {
      if (pending === undefined && !mayFetch(now)) throw new KeySetFetchFailed("The key set is unavailable")
      held = await refresh()
    } else if (now >= fetchedAt + options.maxAgeMillis && pending === undefined && mayFetch(now)) {
      // Stale but usable: answer with what is held, and let a failure of this refresh pass.
      refresh().catch(() => undefined)
    }
    try {
      return await held(header, token)
    } catch (error) {
      if (!(error instanceof Jose.errors.JWKSNoMatchingKey)) throw error
      if (pending !== undefined) return await (await pending)(header, token)
      if (mayFetch(Date.now())) return await (await refresh())(header, token)
      // The last attempt failed: the key may well exist, so this is an outage, not a bad token.
      if (failedAt > fetchedAt) throw new KeySetFetchFailed("The key set is unavailable")
      throw error
    }
  }

  return { getKey }
}
