import { describe, expect, it } from "@effect/vitest"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import { Effect, Option } from "effect"
import * as Zlib from "node:zlib"
import { Api } from "../src/api/Api.ts"
import { type DocsRequest, type DocsResponse, docsResponse, docsScriptPath, isDocsPath } from "../src/server/Docs.ts"

const get = (pathname: string, request: DocsRequest = {}): Effect.Effect<DocsResponse> =>
  Effect.flatMap(docsResponse(pathname, request), (answer) =>
    Option.match(answer, {
      onNone: () => Effect.die(new Error(`no docs answer for ${pathname}`)),
      onSome: Effect.succeed
    }))

const decoded = (answer: DocsResponse): Buffer => {
  switch (answer.headers["content-encoding"]) {
    case undefined:
      return answer.body
    case "br":
      return Zlib.brotliDecompressSync(answer.body)
    case "gzip":
      return Zlib.gunzipSync(answer.body)
    default:
      throw new Error(`unexpected content-encoding ${answer.headers["content-encoding"]}`)
  }
}

/** What Effect's own Scalar integration serves, rendered here independently of Docs.ts. */
const effectsPage = Effect.promise(async () => {
  const { dispose, handler } = HttpLayerRouter.toWebHandler(
    HttpApiScalar.layerHttpLayerRouter({ api: Api, path: "/docs" }),
    { disableLogger: true }
  )
  try {
    return await (await handler(new Request("http://localhost/docs"))).text()
  } finally {
    await dispose()
  }
})

describe("/docs: a small page and a cacheable, compressed script", () => {
  it.live("the page is small, loads the local script by its versioned path, and embeds the document", () =>
    Effect.gen(function*() {
      const scriptPath = yield* docsScriptPath
      expect(scriptPath).toMatch(/^\/docs\/scalar-[0-9a-f]{20}\.js$/)
      const page = yield* get("/docs")
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(page.headers["cache-control"]).toBe("no-cache")
      expect(page.headers["vary"]).toBe("Accept-Encoding")
      expect(page.headers["etag"]).toMatch(/^"[0-9a-f]{20}"$/)
      expect(page.headers["content-encoding"]).toBeUndefined()
      expect(page.headers["content-length"]).toBe(String(page.body.length))
      const html = page.body.toString("utf8")
      expect(page.body.length).toBeLessThan(100_000)
      expect(html).toContain(`<script src="${scriptPath}"></script>`)
      // Offline: nothing is fetched from elsewhere.
      expect(html).not.toMatch(/src="(https?:)?\/\//)
      expect(html).toContain(`id="api-reference"`)
      expect(html).toContain("Task API")
    }))

  it.live("the script is the one @effect/platform inlines, served as JavaScript, cached for good", () =>
    Effect.gen(function*() {
      const script = yield* get(yield* docsScriptPath)
      expect(script.status).toBe(200)
      expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8")
      expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
      expect(script.body.length).toBeGreaterThan(3_000_000)
      expect(yield* effectsPage).toContain(`<script>${script.body.toString("utf8")}</script>`)
    }))

  it.live("brotli or gzip by Accept-Encoding, q-values honoured, identity when nothing else is acceptable", () =>
    Effect.gen(function*() {
      const identity = (yield* get("/docs")).body
      const cases: ReadonlyArray<readonly [string | undefined, string | undefined]> = [
        [undefined, undefined],
        ["", undefined],
        ["gzip, deflate, br", "br"],
        ["gzip", "gzip"],
        ["GZip", "gzip"],
        ["x-gzip", "gzip"],
        ["deflate", undefined],
        ["br;q=0.5, gzip;q=0.8", "gzip"],
        ["br;q=0, gzip", "gzip"],
        ["br;q=0, gzip;q=0", undefined],
        ["*", "br"],
        ["*;q=0.2, br;q=0.1", "gzip"],
        ["*;q=0", undefined],
        ["identity;q=0, *;q=0", undefined],
        ["identity;q=0, gzip;q=0.001", "gzip"],
        ["br;q=2", undefined],
        ["br;q=0.0001, gzip;q=abc", undefined],
        ["br ; Q=1.000", "br"]
      ]
      for (const [acceptEncoding, expected] of cases) {
        const answer = yield* get("/docs", { acceptEncoding })
        expect({ acceptEncoding, coding: answer.headers["content-encoding"] }).toEqual({ acceptEncoding, coding: expected })
        expect(answer.headers["vary"]).toBe("Accept-Encoding")
        expect(answer.headers["content-length"]).toBe(String(answer.body.length))
        expect(decoded(answer).equals(identity)).toBe(true)
      }
    }))

  it.live("the compressed script is a fraction of its 3.3 MB, and every variant is computed once", () =>
    Effect.gen(function*() {
      const path = yield* docsScriptPath
      const identity = yield* get(path)
      for (const coding of ["br", "gzip"]) {
        const first = yield* get(path, { acceptEncoding: coding })
        expect(first.headers["content-encoding"]).toBe(coding)
        expect(first.body.length).toBeLessThan(identity.body.length * 0.3)
        expect(decoded(first).equals(identity.body)).toBe(true)
        expect((yield* get(path, { acceptEncoding: coding })).body).toBe(first.body)
      }
      expect((yield* get(path)).body).toBe(identity.body)
    }))

  it.live("a matching If-None-Match is a 304 with the validators and no body", () =>
    Effect.gen(function*() {
      for (const pathname of ["/docs", yield* docsScriptPath]) {
        const first = yield* get(pathname, { acceptEncoding: "br" })
        const etag = first.headers["etag"] ?? ""
        expect(etag).toMatch(/^"[0-9a-f]{20}-br"$/)
        for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
          const again = yield* get(pathname, { acceptEncoding: "br", ifNoneMatch })
          expect(again.status).toBe(304)
          expect(again.body.length).toBe(0)
          expect(again.headers).toEqual({
            etag,
            "cache-control": first.headers["cache-control"],
            vary: "Accept-Encoding"
          })
        }
        // Each coding is its own representation: another one's tag does not match.
        const gzipped = yield* get(pathname, { acceptEncoding: "gzip", ifNoneMatch: etag })
        expect(gzipped.status).toBe(200)
        expect(gzipped.headers["etag"]).not.toBe(etag)
        expect((yield* get(pathname, { acceptEncoding: "br", ifNoneMatch: `"${"0".repeat(20)}-br"` })).status).toBe(200)
      }
    }))

  it.live("other paths, and a script of another version, are not documentation", () =>
    Effect.gen(function*() {
      for (const pathname of ["/docs/", "/docs/scalar.js", `/docs/scalar-${"0".repeat(20)}.js`, "/openapi.json", "/"]) {
        expect(Option.isNone(yield* docsResponse(pathname, {}))).toBe(true)
      }
      expect(isDocsPath("/docs")).toBe(true)
      expect(isDocsPath(yield* docsScriptPath)).toBe(true)
      expect(isDocsPath("/docs/other")).toBe(false)
    }))
})
