import { Config, ConfigError, Either, Option, Redacted } from "effect"

/**
 * Traces and metrics settings, from OpenTelemetry's standard variables and METRICS_*. Read
 * with the rest of the configuration (`AppConfig`), so an invalid value stops start-up.
 */

/** Which traces are kept: a ratio of the new ones, and, when parent based, the caller's choice. */
export interface Sampler {
  readonly parentBased: boolean
  /** 1: every trace; 0: none. */
  readonly ratio: number
}

const samplers: Record<string, (ratio: number) => Sampler> = {
  always_on: () => ({ parentBased: false, ratio: 1 }),
  always_off: () => ({ parentBased: false, ratio: 0 }),
  traceidratio: (ratio) => ({ parentBased: false, ratio }),
  parentbased_always_on: () => ({ parentBased: true, ratio: 1 }),
  parentbased_always_off: () => ({ parentBased: true, ratio: 0 }),
  parentbased_traceidratio: (ratio) => ({ parentBased: true, ratio })
}

const invalid = (message: string) => Either.left(ConfigError.InvalidData([], message))

const samplerConfig = Config.all({
  name: Config.string("OTEL_TRACES_SAMPLER").pipe(Config.withDefault("parentbased_always_on")),
  arg: Config.option(Config.string("OTEL_TRACES_SAMPLER_ARG"))
}).pipe(Config.mapOrFail(({ arg, name }) => {
  const make = samplers[name.trim().toLowerCase()]
  if (make === undefined) return invalid(`OTEL_TRACES_SAMPLER: expected one of ${Object.keys(samplers).join(", ")}, got "${name}"`)
  const ratio = Option.match(arg, { onNone: () => 1, onSome: (text) => (/^\s*[\d.]+(e-?\d+)?\s*$/i.test(text) ? Number(text) : NaN) })
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1
    ? Either.right(make(ratio))
    : invalid(`OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1, got "${Option.getOrElse(arg, () => "")}"`)
}))

const httpUrl = (name: string) =>
  Config.option(Config.string(name).pipe(Config.mapOrFail((text) => {
    try {
      const url = new URL(text.trim())
      if (url.protocol === "http:" || url.protocol === "https:") return Either.right(url)
    } catch {
      // reported below
    }
    return invalid(`${name}: expected an http:// or https:// URL`)
  })))

/** `key=value,key=value`, values percent-encoded (the OpenTelemetry exporter format). */
const parseHeaders = (text: string): Either.Either<Record<string, string>, string> => {
  const headers: Record<string, string> = {}
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue
    const at = entry.indexOf("=")
    const name = at === -1 ? "" : entry.slice(0, at).trim()
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return Either.left("expected key=value pairs separated by commas")
    try {
      headers[name.toLowerCase()] = decodeURIComponent(entry.slice(at + 1).trim())
    } catch {
      return Either.left("a value is not valid percent-encoding")
    }
  }
  return Either.right(headers)
}

/** They often hold an API key: kept redacted, and an error never repeats them. */
const headersConfig = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Config.mapOrFail(Option.match({
    onNone: () => Either.right(Option.none<Redacted.Redacted<Record<string, string>>>()),
    onSome: (text) =>
      Either.match(parseHeaders(Redacted.value(text)), {
        onLeft: (reason) => invalid(`${name}: ${reason}`),
        onRight: (headers) => Either.right(Option.some(Redacted.make(headers)))
      })
  })))

const protocolConfig = (name: string) =>
  Config.option(Config.string(name).pipe(Config.mapOrFail((text) => {
    const protocol = text.trim().toLowerCase()
    if (protocol === "http/protobuf" || protocol === "http/json") return Either.right<TracingSettings["protocol"]>(protocol)
    return invalid(`${name}: expected http/protobuf or http/json (gRPC is not supported), got "${text}"`)
  })))

export interface TracingSettings {
  /** Where spans are sent (OTLP over HTTP). */
  readonly url: string
  readonly protocol: "http/protobuf" | "http/json"
  readonly headers: Option.Option<Redacted.Redacted<Record<string, string>>>
  readonly serviceName: string
  readonly sampler: Sampler
}

/**
 * Off (`None`) unless an endpoint is set, and off when `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. The signal-specific variables win over the general ones; the
 * general endpoint gets `/v1/traces` appended, the specific one is used as it is.
 */
export const TracingConfig: Config.Config<Option.Option<TracingSettings>> = Config.all({
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  exporter: Config.literal("otlp", "none")("OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp" as const)),
  tracesEndpoint: httpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesProtocol: protocolConfig("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
  protocol: protocolConfig("OTEL_EXPORTER_OTLP_PROTOCOL"),
  tracesHeaders: headersConfig("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  headers: headersConfig("OTEL_EXPORTER_OTLP_HEADERS"),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("task-api")),
  sampler: samplerConfig
}).pipe(Config.map((config) => {
  const url = Option.orElse(
    config.tracesEndpoint,
    () => Option.map(config.endpoint, (base) => new URL(`${base.pathname.replace(/\/$/, "")}/v1/traces`, base))
  )
  if (config.disabled || config.exporter === "none" || Option.isNone(url)) return Option.none()
  return Option.some<TracingSettings>({
    url: url.value.toString(),
    protocol: Option.getOrElse(Option.orElse(config.tracesProtocol, () => config.protocol), () => "http/protobuf" as const),
    headers: Option.orElse(config.tracesHeaders, () => config.headers),
    serviceName: config.serviceName,
    sampler: config.sampler
  })
}))

export interface MetricsSettings {
  readonly port: number
  readonly host: string
}

/** Off (`None`) unless METRICS_PORT is set; `0` asks for any free port (tests). */
export const MetricsConfig: Config.Config<Option.Option<MetricsSettings>> = Config.all({
  port: Config.option(Config.string("METRICS_PORT").pipe(Config.mapOrFail((text) =>
    /^\d{1,5}$/.test(text.trim()) && Number(text) <= 65535
      ? Either.right(Number(text))
      : invalid(`METRICS_PORT: expected a port number between 0 and 65535, got "${text}"`)
  ))),
  host: Config.string("METRICS_HOST").pipe(Config.withDefault("127.0.0.1"))
}).pipe(Config.map(({ host, port }) => Option.map(port, (port) => ({ port, host }))))
