import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Effect, Logger, Redacted } from "effect"
import { jsonLogger } from "../src/Logging.ts"

class Broken extends Data.TaggedError("Broken")<{ readonly detail: string }> {}

describe("JSON log lines", () => {
  it.effect("are the lines of Effect's JSON logger, byte for byte", () =>
    Effect.gen(function*() {
      const captured: Array<Logger.Logger.Options<unknown>> = []
      const capture = Logger.make<unknown, void>((options) => {
        captured.push(options)
      })
      const circular: { self?: unknown; name: string } = { name: "loop" }
      circular.self = circular
      yield* Effect.gen(function*() {
        yield* Effect.logInfo("request").pipe(
          Effect.annotateLogs({ request_id: "r-1", method: "GET", path: "/users/1/tasks", status: 200, duration_ms: 1.25 })
        )
        yield* Effect.logWarning("quote \" backslash \\ newline \n unicode é 😀")
        yield* Effect.logInfo("with a span").pipe(Effect.withLogSpan("step"))
        yield* Effect.logError("Request failed", Cause.fail(new Broken({ detail: "no" })))
        yield* Effect.logError("Request failed", Cause.die(new Error("boom")))
        yield* Effect.logInfo("secret", Redacted.make("hunter2"))
        yield* Effect.logInfo(Redacted.make("hunter2"))
        yield* Effect.logInfo({ nested: { list: [1, 2] } })
        yield* Effect.logInfo(new Error("an error as the message"))
        yield* Effect.logInfo("circular").pipe(Effect.annotateLogs("value", circular))
        yield* Effect.logInfo(42n)
        yield* Effect.logInfo("Using PostgreSQL").pipe(Effect.annotateLogs("password", Redacted.make("hunter2")))
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      expect(captured.length).toBe(12)
      for (const options of captured) {
        expect(jsonLogger.log(options)).toBe(Logger.jsonLogger.log(options))
      }
    }))
})
