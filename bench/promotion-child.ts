/**
 * One pattern of `bench/promotion.ts`, run under `--trace-gc-nvp` in a process of its own:
 * 32 slots, each running one unit of work after another for PROMOTION_SECONDS, every unit
 * producing ~30 KB that dies as soon as the unit ends. What a scavenge promotes is then what
 * something kept alive past its end. The roots of Effect's fibers are in `FiberRoots`, as the
 * server has them.
 */
import { Effect, Runtime } from "effect"
import * as FiberRoots from "../src/httpapi/FiberRoots.ts"

FiberRoots.untangle()
const run = Runtime.runFork(Runtime.defaultRuntime)
const seconds = Number(process.env.PROMOTION_SECONDS ?? "4")

const payload = () => Array.from({ length: 200 }, (_, i) => ({ i, text: `payload ${i}`, at: new Date() }))
const later = <A>(value: A) => Effect.async<A>((resume) => {
  setTimeout(() => resume(Effect.succeed(value)), 1)
})

/** Each pattern runs one unit and calls `done` when it has ended. */
const patterns: Record<string, (done: () => void) => void> = {
  "no Effect: a timer, then the payload": (done) => {
    setTimeout(() => {
      if (payload().length > 0) done()
    }, 1)
  },
  "a fiber that makes the payload synchronously": (done) => {
    run(Effect.sync(payload)).addObserver(() => setTimeout(done, 1))
  },
  "a fiber that yields, then makes the payload": (done) => {
    run(Effect.zipRight(Effect.yieldNow(), Effect.sync(payload))).addObserver(() => setTimeout(done, 1))
  },
  "Effect.async resumed at once, then the payload": (done) => {
    run(Effect.flatMap(Effect.async<void>((resume) => resume(Effect.void)), () => Effect.sync(payload)))
      .addObserver(() => setTimeout(done, 1))
  },
  "Effect.async resumed by a timer, then the payload": (done) => {
    run(Effect.flatMap(later(undefined), () => Effect.sync(payload))).addObserver(() => done())
  },
  "Effect.sleep(0), then the payload": (done) => {
    run(Effect.flatMap(Effect.sleep(0), () => Effect.sync(payload))).addObserver(() => done())
  },
  "Effect.async inside Effect.scoped": (done) => {
    run(Effect.scoped(Effect.flatMap(later(undefined), () => Effect.sync(payload)))).addObserver(() => done())
  },
  "Effect.async inside Effect.useSpan (as @effect/sql runs a statement)": (done) => {
    run(Effect.useSpan(
      "statement",
      { kind: "client", captureStackTrace: false },
      () => Effect.flatMap(later(undefined), () => Effect.sync(payload))
    ))
      .addObserver(() => done())
  }
}

const pattern = patterns[process.env.PROMOTION_PATTERN ?? ""]
if (pattern === undefined) {
  process.stdout.write(`${JSON.stringify(Object.keys(patterns))}\n`)
  process.exit(0)
}
const until = performance.now() + seconds * 1000
let units = 0
const slot = () => {
  if (performance.now() > until) return
  pattern(() => {
    units++
    setImmediate(slot)
  })
}
for (let i = 0; i < 32; i++) slot()
setTimeout(() => {
  process.stdout.write(`UNITS ${units}\n`)
  process.exit(0)
}, seconds * 1000 + 200)
