import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { FiberRoots, untangle } from "../src/httpapi/FiberRoots.ts"

// What FiberRoots changes in the garbage collector (promoted bytes per scavenge, measured with
// --trace-gc-nvp) is in the README's Performance section: a measurement, not a unit test.

describe("FiberRoots", () => {
  it("is a set: add, delete, has, size, and a listing that survives deletes", () => {
    const roots = new FiberRoots<string>()
    roots.add("a").add("b").add("c")
    expect([roots.size, roots.has("b"), roots.has("z")]).toEqual([3, true, false])
    const listing = roots[Symbol.iterator]()
    expect(roots.delete("a")).toBe(true)
    expect(roots.delete("a")).toBe(false)
    expect([...listing].sort()).toEqual(["a", "b", "c"])
    expect([...roots].sort()).toEqual(["b", "c"])
    const seen: Array<string> = []
    roots.forEach((item) => {
      seen.push(item)
      roots.delete(item)
    })
    expect([seen.sort(), roots.size]).toEqual([["b", "c"], 0])
  })

  it.effect("Effect's Fiber.roots still lists the root fibers running, and only those", () =>
    Effect.gen(function*() {
      untangle()
      untangle() // idempotent
      const release = yield* Deferred.make<void>()
      const fiber = Effect.runFork(Deferred.await(release))
      expect(yield* Fiber.roots).toContain(fiber)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.await(fiber)
      expect(yield* Fiber.roots).not.toContain(fiber)
    }))
})
