import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import { Effect, Layer, Option, Redacted, type Context, type Exit, Tracer } from "effect"
import { randomFillSync } from "node:crypto"
import type { Sampler, TracingSettings } from "./OperationsConfig.ts"

// Ids of unsampled spans come from a pool of random bytes, refilled when spent: one
// `randomBytes` call per id cost ~15 µs of CPU per request (measured).
const randomPool = Buffer.alloc(4096)
let randomAt = randomPool.length
const randomHex = (bytes: number): string => {
  if (randomAt + bytes > randomPool.length) {
    randomFillSync(randomPool)
    randomAt = 0
  }
  randomAt += bytes
  return randomPool.toString("hex", randomAt - bytes, randomAt)
}

/**
 * A span that is not kept: it carries its trace's id (answered in `traceresponse`, inherited by
 * its children) and nothing else; its attributes are dropped as they come.
 */
class UnsampledSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly sampled = false
  readonly spanId = randomHex(8)
  readonly traceId: string
  readonly attributes: ReadonlyMap<string, unknown> = new Map()
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.traceId = Option.isSome(parent) ? parent.value.traceId : randomHex(16)
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(): void {}
  event(): void {}
  addLinks(): void {}
}

/** A trace id's last 52 bits as a fraction of 1: the same trace gets the same answer everywhere. */
const traceIdFraction = (traceId: string): number => parseInt(traceId.slice(-13), 16) / 2 ** 52

const keeps = (sampler: Sampler, parent: Option.Option<Tracer.AnySpan>): boolean => {
  if (Option.isSome(parent)) {
    return sampler.parentBased ? parent.value.sampled : traceIdFraction(parent.value.traceId) < sampler.ratio
  }
  return sampler.ratio >= 1 || (sampler.ratio > 0 && Math.random() < sampler.ratio)
}

/**
 * The OTLP tracer of @effect/opentelemetry keeps every span; OpenTelemetry's samplers
 * (`OTEL_TRACES_SAMPLER`) are applied in front of it.
 */
export const sampling = (tracer: Tracer.Tracer, sampler: Sampler): Tracer.Tracer =>
  sampler.parentBased === false && sampler.ratio >= 1
    ? tracer
    : Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) =>
        keeps(sampler, parent)
          ? tracer.span(name, parent, context, links, startTime, kind, options)
          : new UnsampledSpan(name, parent, context, links, startTime, kind),
      context: (f, fiber) => tracer.context(f, fiber)
    })

/**
 * Spans exported by OTLP over HTTP (protobuf, or JSON with `http/json`) every 5 seconds and at
 * shutdown. The exporter's own requests are not traced. Its headers (an API key, often) are
 * redacted wherever a request is logged.
 */
export const tracingLayer = (settings: TracingSettings): Layer.Layer<never> => {
  const headers = Option.getOrUndefined(Option.map(settings.headers, Redacted.value))
  return Layer.unwrapScoped(
    OtlpTracer.make({
      url: settings.url,
      resource: { serviceName: settings.serviceName },
      ...(headers === undefined ? {} : { headers })
    }).pipe(
      Effect.map((tracer) => Layer.setTracer(sampling(tracer, settings.sampler))),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...Object.keys(headers ?? {})])
    )
  ).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf)
  )
}
