import { Effect } from "effect"
import type * as Http from "node:http"
import { invalidJson, payloadTooLarge, type Reply } from "./Reply.ts"

// `ignoreBOM` keeps a byte order mark in the text, where JSON.parse refuses it, as before.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Bodies above this are refused with 413, without being read whole. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Reads the body, at most `MAX_BODY_BYTES`, and parses it as JSON whatever the
 * Content-Type says (a client that forgets the header still means JSON). A declared
 * length over the limit is refused before reading a byte; an undeclared (chunked) one
 * is counted as it arrives. `onTooLarge` lets the caller close the connection, since
 * the rest of that body will never be read.
 */
export const readJson = (request: Http.IncomingMessage, onTooLarge: () => void): Effect.Effect<unknown, Reply> =>
  Effect.async<unknown, Reply>((resume) => {
    if (Number(request.headers["content-length"]) > MAX_BODY_BYTES) {
      onTooLarge()
      return resume(Effect.fail(payloadTooLarge))
    }
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        cleanup()
        request.pause()
        onTooLarge()
        resume(Effect.fail(payloadTooLarge))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      let parsed: unknown
      try {
        // Bytes that are not UTF-8 are refused, not replaced by U+FFFD: the text stored
        // must be the text sent.
        parsed = JSON.parse(utf8.decode(Buffer.concat(chunks, size)))
      } catch {
        return resume(Effect.fail(invalidJson))
      }
      resume(Effect.succeed(parsed))
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(invalidJson))
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
  })

/**
 * Reads and discards a body nobody needs (a GET with a body, a request refused before its
 * body was read), at most `MAX_BODY_BYTES`. Answering before it arrives and then closing
 * would leave unread bytes in the socket, and the kernel would reset the connection under
 * the answer. Fails (and the caller closes the connection) when the body is larger.
 */
export const discardBody = (request: Http.IncomingMessage): Effect.Effect<void, "TooLarge"> =>
  request.complete || request.readableEnded
    ? Effect.void
    : Effect.async<void, "TooLarge">((resume) => {
      let size = 0
      const cleanup = () => {
        request.off("data", onData)
        request.off("end", onEnd)
        request.off("error", onEnd)
      }
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY_BYTES) {
          cleanup()
          request.pause()
          resume(Effect.fail("TooLarge"))
        }
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.void)
      }
      request.on("data", onData)
      request.on("end", onEnd)
      request.on("error", onEnd)
    })
