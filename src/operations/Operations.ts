import { Context, Effect, Layer, Option } from "effect"
import { PoolCounts } from "../database/PoolCounts.ts"
import { ServerObserver } from "../httpapi/Observe.ts"
import { BatchObserver } from "../repository/Batch.ts"
import * as Metrics from "./Metrics.ts"
import type { MetricsSettings, TracingSettings } from "./OperationsConfig.ts"
import { tracingLayer } from "./Tracing.ts"

export interface OperationsSettings {
  readonly tracing: Option.Option<TracingSettings>
  readonly metrics: Option.Option<MetricsSettings>
}

/** Where `/metrics` is served, when it is. */
export class MetricsAddress extends Context.Tag("operations/MetricsAddress")<MetricsAddress, Option.Option<Metrics.MetricsAddress>>() {}

/** The metrics, when METRICS_PORT is set. */
export class MetricsRegistry extends Context.Tag("operations/MetricsRegistry")<MetricsRegistry, Option.Option<Metrics.MetricsShape>>() {}

/**
 * Traces and metrics as configured, provided around everything else so that the layers built
 * inside see them: the tracer, and the observers the HTTP server and the batches read once
 * when they start. Neither configured: the tracer is switched off (no span is made at all,
 * not even the statements' in-process ones) and the observers ask for nothing, so requests
 * do nothing more than before.
 */
export const layer = (
  settings: OperationsSettings
): Layer.Layer<ServerObserver | BatchObserver | MetricsRegistry | MetricsAddress, Error> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const traced = Option.isSome(settings.tracing)
    const metrics = Option.map(settings.metrics, Metrics.make)
    const address = yield* Option.match(Option.zipWith(metrics, settings.metrics, Metrics.serve), {
      onNone: () => Effect.succeedNone,
      onSome: Effect.asSome
    })
    const completed = Option.getOrUndefined(Option.map(metrics, (metrics) => metrics.requestCompleted))
    const sized = Option.getOrUndefined(Option.map(metrics, (metrics) => metrics.batchSent))
    return Layer.mergeAll(
      Option.match(settings.tracing, { onNone: () => Layer.setTracerEnabled(false), onSome: tracingLayer }),
      Layer.succeed(ServerObserver, { traced, completed }),
      Layer.succeed(BatchObserver, { traced, sized }),
      Layer.succeed(MetricsRegistry, metrics),
      Layer.succeed(MetricsAddress, address)
    )
  }))

/** The pool's gauges, once the database is there; nothing without metrics. */
export const poolLayer = Layer.effectDiscard(Effect.gen(function*() {
  const metrics = yield* MetricsRegistry
  if (Option.isSome(metrics)) yield* Metrics.registerPool(metrics.value.registry, yield* PoolCounts)
}))
