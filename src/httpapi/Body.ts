import { Effect } from "effect"
import type * as Http from "node:http"
import { jsonScanner } from "./JsonScan.ts"

export interface BodyLimits {
  /** Bodies above this many bytes are refused (413) without being read whole. */
  readonly maxBytes: number
  /** Nesting deeper than this, or more object keys in all, is refused before parsing. */
  readonly maxDepth: number
  readonly maxKeys: number
}

export type BodyFailure =
  | "TooLarge" // over `maxBytes`: the rest is not read
  | "UnsupportedMediaType" // a Content-Type that is not JSON: nothing is read
  | "NotJson" // not UTF-8, not JSON, or over the structural limits
  | "Broken" // the client went away mid-body

// `ignoreBOM` keeps a byte order mark in the text, where JSON.parse refuses it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** `application/json` or `application/<anything>+json`, with any parameters. */
const jsonMediaType = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/

/** Whether a Content-Type names JSON; no Content-Type at all is read as JSON. */
export const isJsonContentType = (header: string | undefined): boolean => {
  if (header === undefined) return true
  const semicolon = header.indexOf(";")
  return jsonMediaType.test((semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase())
}

/**
 * Reads a JSON body: at most `maxBytes`, scanned for the structural limits chunk by chunk as it
 * arrives. A body over either limit is refused at the chunk that crosses it: the rest is not
 * kept (the server drains it before answering). A 1 MiB body of brackets costs the read of
 * its first chunk, not a 1 MiB copy.
 */
const readJsonBytes = (request: Http.IncomingMessage, limits: BodyLimits): Effect.Effect<Buffer, BodyFailure> => {
  if (request.readableEnded) return Effect.succeed(Buffer.alloc(0))
  // A declared length over the limit is refused before reading a byte.
  if (Number(request.headers["content-length"]) > limits.maxBytes) return Effect.fail("TooLarge")
  return Effect.async<Buffer, BodyFailure>((resume) => {
    const scan = jsonScanner(limits)
    const chunks: Array<Buffer> = []
    let size = 0
    const settle = (outcome: Effect.Effect<Buffer, BodyFailure>) => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
      resume(outcome)
    }
    const refuse = (failure: BodyFailure) => {
      request.pause()
      settle(Effect.fail(failure))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limits.maxBytes) refuse("TooLarge")
      else if (scan(chunk) !== "ok") refuse("NotJson")
      else chunks.push(chunk)
    }
    // Most bodies arrive in one chunk: no copy then.
    const onEnd = () => settle(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    const onError = () => settle(Effect.fail("Broken"))
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
  })
}

/**
 * Reads the body as JSON: Content-Type first (nothing is read for a non-JSON one), then at most
 * `maxBytes` within the structural limits, then `JSON.parse`. Bytes that are not UTF-8 are
 * refused, not replaced by U+FFFD: the text stored must be the text sent.
 */
export const readJson = (request: Http.IncomingMessage, limits: BodyLimits): Effect.Effect<unknown, BodyFailure> =>
  isJsonContentType(request.headers["content-type"])
    ? Effect.flatMap(readJsonBytes(request, limits), (bytes) => {
      try {
        return Effect.succeed<unknown>(JSON.parse(utf8.decode(bytes)))
      } catch {
        return Effect.fail<BodyFailure>("NotJson")
      }
    })
    : Effect.fail("UnsupportedMediaType")

/**
 * Before an answer given without reading the body (or all of it): the rest is read and dropped,
 * up to `maxBytes` more and for at most `millis`, so that the answer reaches a client that is
 * still sending (answering and closing with unread bytes makes the kernel reset the connection
 * under the answer: RFC 9112 §9.6). Succeeds with whether the whole body was read; when it was
 * not, the connection must close after the answer.
 */
export const drain = (request: Http.IncomingMessage, maxBytes: number, millis: number): Effect.Effect<boolean> => {
  if (request.complete) return Effect.succeed(true)
  return Effect.async<boolean>((resume) => {
    let size = 0
    const settle = (whole: boolean) => {
      clearTimeout(timer)
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onEnd)
      request.off("close", onEnd)
      if (!whole) request.pause()
      resume(Effect.succeed(whole))
    }
    const timer = setTimeout(() => settle(false), millis)
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) settle(false)
    }
    const onEnd = () => settle(request.complete)
    request.on("data", onData)
    request.once("end", onEnd)
    request.once("error", onEnd)
    request.once("close", onEnd)
    request.resume()
  })
}
