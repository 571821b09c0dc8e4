import { Effect, Schema, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"

/** One span as OTLP/HTTP's JSON encoding carries it (the fields the tests read). */
const OtlpSpan = Schema.Struct({
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.optional(Schema.String),
  name: Schema.String,
  kind: Schema.Number,
  attributes: Schema.Array(Schema.Struct({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })),
  links: Schema.Array(Schema.Struct({ traceId: Schema.String, spanId: Schema.String }))
})
export type OtlpSpan = typeof OtlpSpan.Type

const TracesBody = Schema.parseJson(Schema.Struct({
  resourceSpans: Schema.Array(Schema.Struct({ scopeSpans: Schema.Array(Schema.Struct({ spans: Schema.Array(OtlpSpan) })) }))
}))

export const SPAN_KIND_SERVER = 2

/** An attribute's value, whatever its OTLP type (`stringValue`, `intValue`…). */
export const attribute = (span: OtlpSpan, key: string): unknown => {
  const found = span.attributes.find((entry) => entry.key === key)
  return found === undefined ? undefined : Object.values(found.value)[0]
}

export interface OtlpReceiver {
  /** What to give OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string
  readonly spans: () => ReadonlyArray<OtlpSpan>
  /** Every body received, as sent: for searching what must never be there. */
  readonly raw: () => string
  readonly paths: () => ReadonlyArray<string>
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps what it is sent (JSON encoding). */
export const otlpReceiver: Effect.Effect<OtlpReceiver, Error, Scope.Scope> = Effect.gen(function*() {
  const bodies: Array<string> = []
  const paths: Array<string> = []
  const server = Http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      paths.push(request.url ?? "")
      bodies.push(Buffer.concat(chunks).toString("utf8"))
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  yield* Effect.acquireRelease(
    Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => resume(Effect.void))
    }),
    () => Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
  )
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () =>
      bodies.flatMap((body) =>
        Schema.decodeUnknownSync(TracesBody)(body).resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))
      ),
    raw: () => bodies.join("\n"),
    paths: () => paths
  }
})

/**
 * The TCP sockets a process listens on (Linux: its socket inodes among `/proc/net/tcp*`
 * entries in state LISTEN).
 */
export const listeningSockets = (pid: number): number => {
  const inodes = new Set(
    Fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const link = Fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1]
        return inode === undefined ? [] : [inode]
      } catch {
        return []
      }
    })
  )
  let listening = 0
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!Fs.existsSync(table)) continue
    for (const line of Fs.readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields[3] === "0A" && inodes.has(fields[9] ?? "")) listening++
    }
  }
  return listening
}
