import { ConfigProvider, Context, Duration, Effect, Layer, Logger, LogLevel, Schema, type Scope } from "effect"
import * as Http from "node:http"
import { Task } from "../../src/domain/index.ts"
import { TaskRepositoryMemory } from "../../src/repository/TaskRepositoryMemory.ts"
import type { TaskRepository } from "../../src/repository/TaskRepository.ts"
import { ListeningAddress, makeHttpServer } from "../../src/server/HttpServer.ts"
import type { AccountRepository } from "../../src/identity/AccountRepository.ts"
import { AccountRepositoryMemory } from "../../src/identity/AccountRepositoryMemory.ts"
import { AuthConfig } from "../../src/identity/AuthConfig.ts"
import { identityLayer } from "../../src/identity/Http.ts"

/** The real server (router, codecs, error mapping, node:http) on an ephemeral port. */
export const serve = (
  repository: Layer.Layer<TaskRepository> = TaskRepositoryMemory,
  options: {
    readonly corsOrigins?: ReadonlyArray<string>
    readonly logLevel?: LogLevel.LogLevel
    readonly headersTimeout?: Duration.Duration
    readonly requestTimeout?: Duration.Duration
    /** AUTH_* settings; none: open mode. */
    readonly auth?: Readonly<Record<string, string>>
    /** Where accounts live when `auth` is set (in memory by default). */
    readonly accounts?: Layer.Layer<AccountRepository>
  } = {}
): Effect.Effect<string, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.auth ?? {}))))
    const { mode } = yield* Effect.provide(AuthConfig, settings)
    const identity = identityLayer(mode, options.accounts ?? AccountRepositoryMemory).pipe(Layer.provide(settings))
    const layer = makeHttpServer({
      host: "127.0.0.1",
      port: 0,
      shutdownTimeout: Duration.seconds(5),
      headersTimeout: options.headersTimeout ?? Duration.seconds(10),
      requestTimeout: options.requestTimeout ?? Duration.seconds(30),
      corsOrigins: [...(options.corsOrigins ?? ["*"])]
    }, mode).pipe(Layer.provide(Layer.merge(repository, identity)))
    // The server's runtime is captured while its layer is built, log level included.
    const built = yield* Layer.build(layer).pipe(Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.Warning))
    const { port } = Context.get(built, ListeningAddress)
    return `http://127.0.0.1:${port}`
  })

export interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly text: string
  /** The body parsed as JSON; `undefined` when it is not JSON. */
  readonly json: unknown
}

/** A body parsed as JSON, or undefined when it is not JSON. */
export const jsonOf = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * One raw HTTP request. node:http rather than fetch, so that tests control exactly what
 * goes on the wire (any method, any body, no content type).
 */
export const call = (
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Http.OutgoingHttpHeaders = {}
): Effect.Effect<Answer> =>
  Effect.async<Answer>((resume) => {
    const request = Http.request(`${base}${path}`, { method, headers, agent: false }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        resume(Effect.succeed({ status: response.statusCode ?? 0, headers: response.headers, text, json: jsonOf(text) }))
      })
    })
    request.on("error", (error) => resume(Effect.die(error)))
    if (body !== undefined) request.end(body)
    else request.end()
  })

export const json = (value: unknown): string => JSON.stringify(value)

/** The body as a Task: decoding it is the proof that the response matches its schema. */
export const asTask = (answer: Answer): Task => Schema.decodeUnknownSync(Task)(answer.json)
export const asTasks = (answer: Answer): ReadonlyArray<Task> => Schema.decodeUnknownSync(Schema.Array(Task))(answer.json)

const Envelope = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    details: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
  })
})
export type Envelope = typeof Envelope.Type

/** The body as the error envelope, with nothing else in it. */
export const asError = (answer: Answer): Envelope["error"] =>
  Schema.decodeUnknownSync(Envelope, { onExcessProperty: "error" })(answer.json).error
