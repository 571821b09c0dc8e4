import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { batcher } from "../src/repository/Batch.ts"

describe("batcher", () => {
  it.live("a failed batch is run again member by member: only the member that fails alone fails", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const statements: Array<ReadonlyArray<number>> = []
      // Like one SQL statement: the whole batch fails when any key in it is bad.
      const lookup = batcher(runtime, (keys: ReadonlyArray<number>) =>
        Effect.suspend(() => {
          statements.push(keys)
          return keys.includes(13) ? Effect.fail(`bad key in ${keys.join(",")}`) : Effect.succeed((key: number) => key * 2)
        }))
      const exits = yield* Effect.forEach([1, 2, 13, 4], (key) => Effect.exit(lookup(key)), { concurrency: "unbounded" })
      expect(exits.map((exit) => Exit.isSuccess(exit) ? exit.value : "failed")).toEqual([2, 4, "failed", 8])
      expect(statements).toEqual([[1, 2, 13, 4], [1], [2], [13], [4]])
      // A batch that succeeds runs once.
      statements.length = 0
      expect(yield* Effect.all([lookup(5), lookup(6)], { concurrency: "unbounded" })).toEqual([10, 12])
      expect(statements).toEqual([[5, 6]])
    }))
  it.live("an answer that throws while it is read is its own caller's defect; the batch's others get theirs", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const lookup = batcher(runtime, (_keys: ReadonlyArray<number>) =>
        Effect.succeed((key: number) => {
          if (key === 7) throw new Error("cannot read 7")
          return key + 1
        }))
      const exits = yield* Effect.forEach([6, 7, 8], (key) => Effect.exit(lookup(key)), { concurrency: "unbounded" })
      expect(exits.map((exit) => Exit.isSuccess(exit) ? exit.value : Exit.isFailure(exit) && Cause.isDie(exit.cause) ? "died" : "other"))
        .toEqual([7, "died", 9])
    }))
})
