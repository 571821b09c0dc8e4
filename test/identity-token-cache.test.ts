import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { makeTokenCache } from "../src/identity/TokenCache.ts"
import { makeTokenVerifier } from "../src/identity/Tokens.ts"
import { signHmac } from "./support/identityJwks.ts"

describe("TokenCache", () => {
  it("answers an entry only before its expiry, and forgets it after", () => {
    const cache = makeTokenCache<string>(10)
    cache.set("token", "value", 1_000)
    expect(cache.get("token", 999)).toBe("value")
    expect(cache.get("token", 1_000)).toBeUndefined()
    expect(cache.size()).toBe(0)
  })

  it("holds at most its capacity, evicting the least recently used", () => {
    const cache = makeTokenCache<number>(3)
    for (const [token, value] of [["a", 1], ["b", 2], ["c", 3]] as const) cache.set(token, value, 10_000)
    expect(cache.get("a", 0)).toBe(1) // a is now the most recently used
    cache.set("d", 4, 10_000)
    expect(cache.size()).toBe(3)
    expect(cache.get("b", 0)).toBeUndefined()
    expect([cache.get("a", 0), cache.get("c", 0), cache.get("d", 0)]).toEqual([1, 3, 4])
    for (let i = 0; i < 1_000; i++) cache.set(`t${i}`, i, 10_000)
    expect(cache.size()).toBe(3)
  })
})

const SECRET = "a-test-secret-that-is-long-enough-for-hs256!"

describe("TokenVerifier cost", () => {
  it.live("a cached HS256 verification costs less than a cold one (figures printed)", () =>
    Effect.gen(function*() {
      const options = {
        secret: Option.some(Redacted.make(SECRET)),
        keySet: Option.none(),
        issuer: Option.none(),
        audience: Option.none(),
        userClaim: "sub",
        mapSubjects: false
      }
      const count = 2_000
      const tokens = yield* Effect.forEach(
        Array.from({ length: count }, (_, i) => i + 1),
        (sub) => signHmac(SECRET, { sub: String(sub) })
      )
      const cold = makeTokenVerifier(options)
      const coldStart = performance.now()
      for (const token of tokens) yield* cold.verify(token)
      const coldMicros = ((performance.now() - coldStart) * 1000) / count

      const rounds = 20_000
      const cachedStart = performance.now()
      for (let i = 0; i < rounds; i++) yield* cold.verify(tokens[i % count]!)
      const cachedMicros = ((performance.now() - cachedStart) * 1000) / rounds

      const uncached = makeTokenVerifier({ ...options, cacheCapacity: 0 })
      const uncachedStart = performance.now()
      for (let i = 0; i < count; i++) yield* uncached.verify(tokens[0]!)
      const uncachedMicros = ((performance.now() - uncachedStart) * 1000) / count

      console.log(
        `HS256 verify: cold ${coldMicros.toFixed(1)} µs, same token without cache ${uncachedMicros.toFixed(1)} µs, cached ${cachedMicros.toFixed(2)} µs`
      )
      expect(cachedMicros).toBeLessThan(coldMicros)
    }))
})
