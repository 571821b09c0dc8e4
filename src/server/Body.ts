import { Effect } from "effect"
import type * as Http from "node:http"
import { invalidJson, payloadTooLarge, type Reply } from "./Reply.ts"

// `ignoreBOM` keeps a byte order mark in the text, where JSON.parse refuses it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Bodies above this are refused with 413, without being read whole. */
export const MAX_BODY_BYTES = 1024 * 1024

type ReadFailure = "TooLarge" | "Broken"

/**
 * Reads the rest of the body, at most `MAX_BODY_BYTES`, keeping its bytes or not. Past
 * the limit it stops reading (the caller must then close the connection, since the rest
 * of the body will never be read).
 */
const readBody = (request: Http.IncomingMessage, keep: boolean): Effect.Effect<Buffer, ReadFailure> => {
  if (request.readableEnded) return Effect.succeed(Buffer.alloc(0))
  return Effect.async<Buffer, ReadFailure>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const settle = (outcome: Effect.Effect<Buffer, ReadFailure>) => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
      resume(outcome)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        request.pause()
        settle(Effect.fail("TooLarge"))
      } else if (keep) {
        chunks.push(chunk)
      }
    }
    const onEnd = () => settle(Effect.succeed(Buffer.concat(chunks, keep ? size : 0)))
    const onError = () => settle(Effect.fail("Broken"))
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
  })
}

/**
 * Reads the body and parses it as JSON whatever the Content-Type says (a client that
 * forgets the header still means JSON). Bytes that are not UTF-8 are refused, not
 * replaced by U+FFFD: the text stored must be the text sent. `onTooLarge` lets the
 * caller close the connection.
 */
export const readJson = (request: Http.IncomingMessage, onTooLarge: () => void): Effect.Effect<unknown, Reply> =>
  // A declared length over the limit is refused before reading a byte.
  (Number(request.headers["content-length"]) > MAX_BODY_BYTES ? Effect.fail<ReadFailure>("TooLarge") : readBody(request, true)).pipe(
    Effect.mapError((failure) => {
      if (failure === "TooLarge") onTooLarge()
      return failure === "TooLarge" ? payloadTooLarge : invalidJson
    }),
    Effect.flatMap((bytes) =>
      Effect.try({ try: (): unknown => JSON.parse(utf8.decode(bytes)), catch: () => invalidJson })
    )
  )

/**
 * Reads and discards a body nobody needs (a GET with a body, a request refused before its
 * body was read). Answering before it arrives and then closing would leave unread bytes in
 * the socket, and the kernel would reset the connection under the answer. Fails (and the
 * caller closes the connection) when the body is larger than the limit.
 */
export const discardBody = (request: Http.IncomingMessage): Effect.Effect<void, "TooLarge"> =>
  // `complete`: every byte has left the socket already; node drops what is left unread.
  request.complete
    ? Effect.void
    : readBody(request, false).pipe(
      Effect.asVoid,
      Effect.catchIf((failure): failure is "Broken" => failure === "Broken", () => Effect.void)
    )
