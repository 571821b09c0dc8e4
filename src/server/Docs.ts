import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { promisify } from "node:util"
import * as Zlib from "node:zlib"
import { Api } from "../api/Api.ts"

/**
 * The interactive documentation: Effect's own Scalar page for `Api`, with its script (3.3 MB,
 * from `@effect/platform`, so no CDN) moved out of the page to a path named by its hash.
 * The page is small and revalidated (`no-cache`, ETag); the script is cached for good
 * (`immutable`): a revisit costs one 304. Both are computed once, on first use, with their
 * gzip and brotli variants. Nothing here knows the server: it calls `docsResponse`.
 */

export interface DocsRequest {
  /** The request's `Accept-Encoding`, if any. */
  readonly acceptEncoding?: string | undefined
  /** The request's `If-None-Match`, if any. */
  readonly ifNoneMatch?: string | undefined
}

export interface DocsResponse {
  readonly status: 200 | 304
  readonly headers: Readonly<Record<string, string>>
  /** Empty for a 304. */
  readonly body: Buffer
}

export const docsPagePath = "/docs"

const scriptPathPattern = /^\/docs\/scalar-[0-9a-f]{20}\.js$/

/**
 * Whether a path belongs to the documentation (any method), without computing anything:
 * for the router's 404/405 decisions. A script path with a stale hash is a docs path that
 * `docsResponse` answers with `None` (404).
 */
export const isDocsPath = (pathname: string): boolean =>
  pathname === docsPagePath || scriptPathPattern.test(pathname)

type Coding = "br" | "gzip" | "identity"

/** On a tie of q-values, the smaller body wins. */
const codingsByPreference: ReadonlyArray<Coding> = ["br", "gzip", "identity"]

interface Asset {
  readonly contentType: string
  readonly cacheControl: string
  readonly hash: string
  readonly encoded: Readonly<Record<Coding, Effect.Effect<Buffer>>>
}

const gzip = promisify(Zlib.gzip)
const brotli = promisify(Zlib.brotliCompress)

/**
 * Brotli's best quality (11) took ~10 s of CPU for the 3.3 MB script here, quality 9
 * ~0.6 s for 10% more bytes (794 KB against 720 KB): the script gets 9, the page 11.
 */
const brotliQuality = (size: number): number => size > 256 * 1024 ? 9 : 11

/** Each variant is compressed on the thread pool once, when first asked for. */
const makeAsset = (body: Buffer, contentType: string, cacheControl: string): Effect.Effect<Asset> =>
  Effect.gen(function*() {
    const gzipped = yield* Effect.cached(Effect.promise(() => gzip(body, { level: 9 })))
    const brotlied = yield* Effect.cached(Effect.promise(() =>
      brotli(body, {
        params: {
          [Zlib.constants.BROTLI_PARAM_MODE]: Zlib.constants.BROTLI_MODE_TEXT,
          [Zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality(body.length),
          [Zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length
        }
      })
    ))
    return {
      contentType,
      cacheControl,
      hash: createHash("sha256").update(body).digest("hex").slice(0, 20),
      encoded: { identity: Effect.succeed(body), gzip: gzipped, br: brotlied }
    }
  })

/** Effect's page, rendered by Effect's own Scalar integration; loaded only when asked for. */
const renderScalarPage = async (): Promise<string> => {
  const [HttpApiScalar, HttpLayerRouter] = await Promise.all([
    import("@effect/platform/HttpApiScalar"),
    import("@effect/platform/HttpLayerRouter")
  ])
  const { dispose, handler } = HttpLayerRouter.toWebHandler(
    HttpApiScalar.layerHttpLayerRouter({ api: Api, path: docsPagePath }),
    { disableLogger: true }
  )
  try {
    const response = await handler(new Request(`http://localhost${docsPagePath}`))
    return await response.text()
  } finally {
    await dispose()
  }
}

/**
 * Effect's page is the document, the configuration, then the inlined script as its last
 * element (which holds no `</script>`, or the page would break): cut that script out.
 */
const splitPage = (html: string): { readonly before: string; readonly script: string; readonly after: string } => {
  const configuration = html.indexOf("dataset.configuration")
  const open = html.indexOf("<script>", configuration)
  const close = html.lastIndexOf("</script>")
  if (configuration < 0 || open < 0 || close < open) {
    throw new Error("Effect's Scalar page no longer has the shape src/server/Docs.ts cuts the script out of")
  }
  return {
    before: html.slice(0, open),
    script: html.slice(open + "<script>".length, close),
    after: html.slice(close + "</script>".length)
  }
}

interface Assets {
  readonly page: Asset
  readonly script: Asset
  readonly scriptPath: string
}

const assets: Effect.Effect<Assets> = Effect.cached(
  Effect.gen(function*() {
    const { after, before, script: source } = splitPage(yield* Effect.promise(renderScalarPage))
    const script = yield* makeAsset(
      Buffer.from(source, "utf8"),
      "text/javascript; charset=utf-8",
      // The hash is in the path: a new script is a new URL, so this one never changes.
      "public, max-age=31536000, immutable"
    )
    const scriptPath = `/docs/scalar-${script.hash}.js`
    const page = yield* makeAsset(
      Buffer.from(`${before}<script src="${scriptPath}"></script>${after}`, "utf8"),
      "text/html; charset=utf-8",
      "no-cache"
    )
    // The browser asks for the script right after the page: start compressing it now.
    yield* Effect.forkDaemon(Effect.all([script.encoded.br, script.encoded.gzip], { concurrency: 2 }))
    return { page, script, scriptPath }
  })
).pipe(Effect.runSync)

/** The path of the current script, for tests and links; computes the assets if needed. */
export const docsScriptPath: Effect.Effect<string> = Effect.map(assets, (all) => all.scriptPath)

const qValue = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i

/**
 * The coding to send (RFC 9110 §12.5.3): the highest q-value among those we have, ties to
 * the smaller body. Unlisted codings take `*`'s q; `identity` stays acceptable unless
 * refused by `identity;q=0` or `*;q=0`. When everything is refused, identity anyway: a
 * page nobody can read helps less than one the client was not asked about.
 */
const chooseCoding = (acceptEncoding: string | undefined): Coding => {
  if (acceptEncoding === undefined) return "identity"
  const weights = new Map<string, number>()
  for (const element of acceptEncoding.split(",")) {
    const [name = "", ...parameters] = element.split(";")
    const coding = name.trim().toLowerCase()
    if (coding === "") continue
    let weight = 1
    for (const parameter of parameters) {
      const match = qValue.exec(parameter)
      // A malformed q makes the element meaningless: it is ignored rather than guessed at.
      weight = match === null ? Number.NaN : Number(match[1])
    }
    if (!Number.isNaN(weight)) weights.set(coding === "x-gzip" ? "gzip" : coding, weight)
  }
  const weightOf = (coding: Coding): number =>
    weights.get(coding) ?? weights.get("*") ?? (coding === "identity" ? Number.MIN_VALUE : 0)
  let best: Coding = "identity"
  let bestWeight = 0
  for (const coding of codingsByPreference) {
    const weight = weightOf(coding)
    if (weight > bestWeight) {
      best = coding
      bestWeight = weight
    }
  }
  return best
}

const entityTag = /\*|(?:W\/)?"[^"]*"/g

/** `If-None-Match` compares weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`. */
const noneMatch = (ifNoneMatch: string | undefined, etag: string): boolean =>
  ifNoneMatch !== undefined &&
  [...ifNoneMatch.matchAll(entityTag)].some(([tag]) => tag === "*" || tag.replace(/^W\//, "") === etag)

const respond = (asset: Asset, request: DocsRequest): Effect.Effect<DocsResponse> => {
  const coding = chooseCoding(request.acceptEncoding)
  // Each coding is a representation of its own, so each has its own strong tag.
  const etag = coding === "identity" ? `"${asset.hash}"` : `"${asset.hash}-${coding}"`
  const cacheHeaders = { etag, "cache-control": asset.cacheControl, vary: "Accept-Encoding" }
  if (noneMatch(request.ifNoneMatch, etag)) {
    return Effect.succeed({ status: 304, headers: cacheHeaders, body: Buffer.alloc(0) })
  }
  return Effect.map(asset.encoded[coding], (body) => ({
    status: 200,
    headers: {
      ...cacheHeaders,
      "content-type": asset.contentType,
      "content-length": String(body.length),
      ...(coding === "identity" ? {} : { "content-encoding": coding })
    },
    body
  }))
}

/**
 * The answer to a GET of `pathname`, or `None` when it is not a documentation path (or names
 * a script that is not the current one). The first call renders and hashes everything.
 */
export const docsResponse = (pathname: string, request: DocsRequest): Effect.Effect<Option.Option<DocsResponse>> => {
  if (!isDocsPath(pathname)) return Effect.succeed(Option.none())
  return Effect.flatMap(assets, (all) =>
    pathname === docsPagePath
      ? Effect.map(respond(all.page, request), Option.some)
      : pathname === all.scriptPath
      ? Effect.map(respond(all.script, request), Option.some)
      : Effect.succeed(Option.none()))
}
