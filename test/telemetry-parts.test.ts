import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Redacted, Tracer } from "effect"
import { AppConfig } from "../src/AppConfig.ts"
import { formatTraceContext, parseTraceparent } from "../src/httpapi/Observe.ts"
import { MetricsConfig, type Sampler, TracingConfig } from "../src/operations/OperationsConfig.ts"
import { sampling } from "../src/operations/Tracing.ts"
import { BatchObserver, batcher } from "../src/repository/Batch.ts"

const load = <A, E>(config: Effect.Effect<A, E>, env: Record<string, string>) =>
  Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))

const failure = <A, E>(config: Effect.Effect<A, E>, env: Record<string, string>) =>
  Effect.map(Effect.either(load(config, env)), (result) => (Either.isLeft(result) ? String(result.left) : "accepted"))

describe("tracing configuration", () => {
  it.effect("off unless an endpoint is set, and when disabled by OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* load(TracingConfig, {}))).toBe(true)
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
      expect(Option.isNone(yield* load(TracingConfig, { ...endpoint, OTEL_SDK_DISABLED: "true" }))).toBe(true)
      expect(Option.isNone(yield* load(TracingConfig, { ...endpoint, OTEL_TRACES_EXPORTER: "none" }))).toBe(true)
    }))

  it.effect("the general endpoint gets /v1/traces, the traces endpoint is used as it is and wins", () =>
    Effect.gen(function*() {
      const general = Option.getOrThrow(yield* load(TracingConfig, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example/base/" }))
      expect(general).toMatchObject({
        url: "https://otlp.example/base/v1/traces",
        protocol: "http/protobuf",
        serviceName: "task-api",
        sampler: { parentBased: true, ratio: 1 }
      })
      const specific = Option.getOrThrow(
        yield* load(TracingConfig, {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "tasks-eu",
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "0.25"
        })
      )
      expect(specific).toMatchObject({
        url: "http://collector:4318/custom",
        protocol: "http/json",
        serviceName: "tasks-eu",
        sampler: { parentBased: true, ratio: 0.25 }
      })
    }))

  it.effect("headers are parsed, percent-decoded, kept redacted and never repeated in an error", () =>
    Effect.gen(function*() {
      const settings = Option.getOrThrow(
        yield* load(TracingConfig, {
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
          OTEL_EXPORTER_OTLP_HEADERS: "Api-Key=abc%3D%3D, x-team=ops"
        })
      )
      const headers = Option.getOrThrow(settings.headers)
      expect(Redacted.value(headers)).toEqual({ "api-key": "abc==", "x-team": "ops" })
      expect(String(headers)).not.toContain("abc")
      const refused = yield* failure(TracingConfig, {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "sk-live-123"
      })
      expect(refused).toContain("OTEL_EXPORTER_OTLP_HEADERS")
      expect(refused).not.toContain("sk-live-123")
    }))

  it.effect("invalid values stop start-up, naming the variable", () =>
    Effect.gen(function*() {
      const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
      for (
        const [env, name] of [
          [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
          [{ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "OTEL_EXPORTER_OTLP_PROTOCOL"],
          [{ ...endpoint, OTEL_TRACES_SAMPLER: "sometimes" }, "OTEL_TRACES_SAMPLER"],
          [{ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" }, "OTEL_TRACES_SAMPLER_ARG"]
        ] as const
      ) {
        expect(yield* failure(TracingConfig, env)).toContain(name)
      }
    }))
})

describe("metrics configuration", () => {
  it.effect("off unless METRICS_PORT is set; on 127.0.0.1 by default; never the API's port", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* load(MetricsConfig, {}))).toBe(true)
      expect(Option.getOrThrow(yield* load(MetricsConfig, { METRICS_PORT: "9464" }))).toEqual({ port: 9464, host: "127.0.0.1" })
      expect(yield* failure(MetricsConfig, { METRICS_PORT: "http" })).toContain("METRICS_PORT")
      const sameAsApi = yield* failure(AppConfig, { PORT: "8000", METRICS_PORT: "8000", LOG_FORMAT: "json" })
      expect(sameAsApi).toContain("METRICS_PORT must differ from PORT")
      expect(yield* failure(AppConfig, { PORT: "8000", METRICS_PORT: "9464", LOG_FORMAT: "json" })).toBe("accepted")
    }))
})

describe("trace context", () => {
  it("a valid traceparent is the caller's span; an invalid one is ignored", () => {
    const caller = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    expect(caller).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true })
    expect(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled).toBe(false)
    for (
      const invalid of [
        undefined,
        "",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
      ]
    ) expect(parseTraceparent(invalid)).toBeUndefined()
    // A later version may add fields.
    expect(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more")?.spanId).toBe("00f067aa0ba902b7")
    expect(formatTraceContext(caller!)).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
  })
})

/** The spans a tracer was asked for, and whether each was handed on to it. */
const recording = (sampler: Sampler) => {
  const kept: Array<string> = []
  const inner = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      kept.push(name)
      return {
        _tag: "Span",
        name,
        spanId: "1111111111111111",
        traceId: Option.isSome(parent) ? parent.value.traceId : "22222222222222222222222222222222",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: new Map(),
        links,
        sampled: true,
        kind,
        end: () => undefined,
        attribute: () => undefined,
        event: () => undefined,
        addLinks: () => undefined
      }
    },
    context: (f) => f()
  })
  return { kept, tracer: sampling(inner, sampler) }
}

describe("sampling", () => {
  it.effect("parent based: a caller's choice is followed, a new trace is kept by the ratio", () =>
    Effect.gen(function*() {
      const { kept, tracer } = recording({ parentBased: true, ratio: 0 })
      const sampled = Tracer.externalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true })
      const unsampled = Tracer.externalSpan({ ...sampled, sampled: false })
      const names = yield* Effect.all([
        Effect.withSpan(Effect.currentSpan, "kept", { parent: sampled }),
        Effect.withSpan(Effect.currentSpan, "dropped by its caller", { parent: unsampled }),
        Effect.withSpan(Effect.withSpan(Effect.currentSpan, "child of a dropped root"), "dropped root", { root: true })
      ]).pipe(Effect.withTracer(tracer))
      expect(kept).toEqual(["kept"])
      const [, dropped, child] = names
      // Dropped spans still carry their trace: the child's trace is its root's.
      expect(dropped).toMatchObject({ sampled: false, traceId: sampled.traceId })
      expect(child).toMatchObject({ sampled: false })
      expect(child.traceId).toMatch(/^[0-9a-f]{32}$/)
    }))

  it.effect("a trace id ratio keeps about that share of new traces", () =>
    Effect.gen(function*() {
      const { kept, tracer } = recording({ parentBased: false, ratio: 0.25 })
      yield* Effect.forEach(Array.from({ length: 2000 }), () => Effect.withSpan(Effect.void, "root", { root: true })).pipe(
        Effect.withTracer(tracer)
      )
      expect(kept.length).toBeGreaterThan(400)
      expect(kept.length).toBeLessThan(600)
    }))
})

describe("traced batches", () => {
  it.live("a batch's statement is the child of its first caller and linked to every caller", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>().pipe(
        Effect.provideService(BatchObserver, { traced: true, sized: (size) => sizes.push(size) })
      )
      const sizes: Array<number> = []
      const statements: Array<Tracer.Span> = []
      const lookup = batcher(runtime, (keys: ReadonlyArray<number>) =>
        Effect.withSpan(
          Effect.map(Effect.currentSpan, (span) => {
            statements.push(span)
            return (key: number) => key * 2
          }),
          `statement for ${keys.length}`
        ))
      const request = (key: number) =>
        Effect.withSpan(Effect.zip(Effect.currentSpan, lookup(key)), `request ${key}`, { root: true })
      const answers = yield* Effect.all([request(1), request(2), request(3)], { concurrency: "unbounded" })
      expect(answers.map(([, value]) => value)).toEqual([2, 4, 6])
      expect(sizes).toEqual([3])
      const [statement, ...others] = statements
      expect(others).toEqual([])
      const callers = answers.map(([span]) => span)
      expect(Option.getOrThrow(statement!.parent)).toBe(callers[0])
      expect(statement!.links.map((link) => link.span)).toEqual(callers)
      expect(statement!.attributes.get("db.operation.batch.size")).toBe(3)
    }))

  it.live("untraced, a statement belongs to no request and the callers' spans are not kept", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const statements: Array<Tracer.Span> = []
      const lookup = batcher(runtime, (_: ReadonlyArray<number>) =>
        Effect.withSpan(Effect.map(Effect.currentSpan, (span) => {
          statements.push(span)
          return (key: number) => key
        }), "statement"))
      yield* Effect.all([1, 2].map((key) => Effect.withSpan(lookup(key), `request ${key}`)), { concurrency: "unbounded" })
      expect(Option.isNone(statements[0]!.parent)).toBe(true)
      expect(statements[0]!.links).toEqual([])
    }))
})
