/**
 * Reads a JSON array of objects from a byte stream (a fetch body, a node stream) element by element, so that a test can
 * check an answer of hundreds of megabytes with memory bounded by its largest element: each
 * top-level object is cut out, parsed alone and handed to `onElement`. Anything that is not
 * `[` objects separated by `,` `]` (whitespace allowed), or bytes after the `]`, is an error,
 * and so is a stream that ends before the `]`.
 */
async function* chunks(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (!("getReader" in body)) return yield* body
  const reader = body.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) yield read.value
}

export const readJsonArray = async (
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  onElement: (element: unknown) => void
): Promise<void> => {
  // Where the scanner is between elements: before "[", before an element or "]", after an
  // element (before "," or "]"), after "," (before an element), after "]".
  let state: "open" | "first" | "after" | "comma" | "closed" = "open"
  let depth = 0
  let inString = false
  let escaped = false
  let parts: Array<Uint8Array> = []
  const decoder = new TextDecoder("utf-8", { fatal: true })

  for await (const chunk of chunks(body)) {
    let start = depth > 0 ? 0 : -1
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!
      if (depth > 0) {
        if (inString) {
          if (escaped) escaped = false
          else if (byte === 0x5c) escaped = true
          else if (byte === 0x22) inString = false
        } else if (byte === 0x22) inString = true
        else if (byte === 0x7b || byte === 0x5b) depth++
        else if (byte === 0x7d || byte === 0x5d) {
          depth--
          if (depth === 0) {
            parts.push(chunk.subarray(start, i + 1))
            onElement(JSON.parse(decoder.decode(Buffer.concat(parts))))
            parts = []
            start = -1
            state = "after"
          }
        }
        continue
      }
      if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue
      if (state === "open" && byte === 0x5b) state = "first"
      else if ((state === "first" || state === "comma") && byte === 0x7b) {
        depth = 1
        start = i
      } else if (state === "after" && byte === 0x2c) state = "comma"
      else if ((state === "first" || state === "after") && byte === 0x5d) state = "closed"
      else throw new Error(`Not a JSON array of objects: byte ${byte} where ${state}`)
    }
    if (depth > 0) parts.push(chunk.subarray(start))
  }
  if (state !== "closed") throw new Error(`The array ended early (${state}, depth ${depth})`)
}
