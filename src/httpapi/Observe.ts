import { Context, Tracer } from "effect"

/**
 * What the server does around each request besides answering it, read once when the server
 * starts. Without a `ServerObserver` in its context the server does none of it: no span, no
 * header parsing, no callback, nothing built per request.
 */
export interface ServerObserverShape {
  /**
   * A server span per request, the child of an incoming W3C `traceparent`, its trace id
   * answered in a `traceresponse` header.
   */
  readonly traced: boolean
  /** Called once per answered request, after its answer was handed to the socket. */
  readonly completed: ((request: CompletedRequest) => void) | undefined
}

export interface CompletedRequest {
  readonly method: string
  /** The route template (`/users/{user_id}/tasks`), or `OTHER_ROUTE` / `UNMATCHED_ROUTE`: never the raw path. */
  readonly route: string
  readonly status: number
  readonly seconds: number
}

/** Answered by the server's `serveOther` (its document, its docs), outside the API's routes. */
export const OTHER_ROUTE = "other"
/** No route: 404, 405, a preflight, a malformed request. */
export const UNMATCHED_ROUTE = "unmatched"

export class ServerObserver extends Context.Tag("httpapi/ServerObserver")<ServerObserver, ServerObserverShape>() {}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/
const zeroTraceId = "0".repeat(32)
const zeroSpanId = "0".repeat(16)

/**
 * The caller's span from a W3C `traceparent` header (Trace Context, level 1): version `ff` and
 * all-zero ids are invalid, and a later version may append fields, which are ignored.
 */
export const parseTraceparent = (header: string | ReadonlyArray<string> | undefined): Tracer.ExternalSpan | undefined => {
  if (typeof header !== "string") return undefined
  const parts = traceparentPattern.exec(header.trim())
  if (parts === null) return undefined
  const [, version, traceId, spanId, flags] = parts
  if (version === "ff" || traceId === zeroTraceId || spanId === zeroSpanId) return undefined
  if (version === "00" && header.trim().length !== 55) return undefined
  return Tracer.externalSpan({ traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 })
}

/** A span as W3C Trace Context writes it (`traceparent`, and `traceresponse` in level 2). */
export const formatTraceContext = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
