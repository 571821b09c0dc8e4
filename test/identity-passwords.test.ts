import { describe, expect, it } from "@effect/vitest"
import * as Argon2 from "@node-rs/argon2"
import { Effect, Either, Option } from "effect"
import { ARGON2_OPTIONS, DUMMY_HASH, makePasswords } from "../src/identity/Passwords.ts"

describe("Passwords", () => {
  it.live("hash is argon2id at OWASP's minimum; verify accepts the password and nothing else", () =>
    Effect.gen(function*() {
      const passwords = makePasswords(2)
      const hash = yield* passwords.hash("correct horse battery staple")
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      expect(hash).not.toContain("correct horse")
      expect(yield* passwords.verify(hash, "correct horse battery staple")).toBe(true)
      expect(yield* passwords.verify(hash, "correct horse battery stapler")).toBe(false)
      // A fresh salt every time.
      expect(yield* passwords.hash("correct horse battery staple")).not.toBe(hash)
    }))

  it.live("verifyUnknown answers false at the cost of a real verify, with the same parameters", () =>
    Effect.gen(function*() {
      const parsed = Argon2.parseOptions(DUMMY_HASH)
      expect(parsed).toMatchObject({
        algorithm: ARGON2_OPTIONS.algorithm,
        memoryCost: ARGON2_OPTIONS.memoryCost,
        timeCost: ARGON2_OPTIONS.timeCost,
        parallelism: ARGON2_OPTIONS.parallelism
      })
      const passwords = makePasswords(2)
      const real = yield* passwords.hash("a real password")
      expect(yield* passwords.verifyUnknown("a real password")).toBe(false)
      // Interleaved so that load on the machine falls on both alike.
      const timings = { known: [] as Array<number>, unknown: [] as Array<number> }
      for (let i = 0; i < 8; i++) {
        let started = performance.now()
        yield* passwords.verify(real, "a wrong password")
        timings.known.push(performance.now() - started)
        started = performance.now()
        yield* passwords.verifyUnknown("a wrong password")
        timings.unknown.push(performance.now() - started)
      }
      const median = (values: Array<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]!
      const [known, unknown] = [median(timings.known), median(timings.unknown)]
      console.log(`argon2id verify: known email ${known.toFixed(1)} ms, unknown email ${unknown.toFixed(1)} ms (medians of 8)`)
      expect(unknown / known).toBeGreaterThan(0.5)
      expect(unknown / known).toBeLessThan(2)
    }), { timeout: 30_000 })

  it.live("N hashes at once at most: the N+1th is refused at once with Busy, and slots come back", () =>
    Effect.gen(function*() {
      const passwords = makePasswords(2)
      const first = yield* Effect.fork(passwords.hash("password one"))
      const second = yield* Effect.fork(passwords.hash("password two"))
      yield* Effect.yieldNow()
      const third = yield* Effect.either(passwords.verifyUnknown("password three"))
      expect(Either.isLeft(third) && third.left).toMatchObject({ _tag: "Busy", retryAfterSeconds: 1 })
      // Refused at once: both hashes (tens of milliseconds each) are still running, so the
      // third did not wait for a slot. (A clock here failed under CI's load: 6.9 ms.)
      expect([Option.isNone(yield* first.poll), Option.isNone(yield* second.poll)]).toEqual([true, true])
      expect(yield* first.await).toMatchObject({ _tag: "Success" })
      expect(yield* second.await).toMatchObject({ _tag: "Success" })
      // Both slots are free again.
      const again = yield* Effect.all([passwords.hash("a"), passwords.hash("b")], { concurrency: "unbounded" })
      expect(again).toHaveLength(2)
    }))

  it.live("a hash costs tens of milliseconds here (figure printed)", () =>
    Effect.gen(function*() {
      const passwords = makePasswords(1)
      const rounds = 10
      const started = performance.now()
      for (let i = 0; i < rounds; i++) yield* passwords.hash(`password number ${i}`)
      const perHash = (performance.now() - started) / rounds
      console.log(`argon2id hash (m=19 MiB, t=2, p=1): ${perHash.toFixed(1)} ms per hash`)
      expect(perHash).toBeGreaterThan(1)
    }), { timeout: 30_000 })
})
