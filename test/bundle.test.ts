import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs"
import { bundleService, serverExternals, startBundled } from "./support/bundle.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

/**
 * What `npm start` runs is an esbuild bundle with Effect and the other ES modules inside it
 * (a quarter of the heap of loading them from node_modules, see README "Memory"), and the
 * CommonJS packages left external. These tests hold the bundle to that.
 */
describe("the server bundle", () => {
  it.scoped("leaves every CommonJS package external: no dynamic require inside it", () =>
    Effect.gen(function*() {
      // A CommonJS package bundled into an ES module calls esbuild's `__require` shim, which
      // throws for node's own modules when it runs: the server would fail on that path only.
      const bundle = yield* bundleService
      const requiring = bundle.code.filter(({ text }) => text.includes("__require("))
      expect(requiring.map(({ file }) => file)).toEqual([])
      expect(serverExternals()).toEqual(expect.arrayContaining(["pg", "pg-cursor", "pg-connection-string"]))
    }), 60_000)

  it.scopedLive("starts with npm start's flags and serves the API, its document and the docs page", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const service = yield* startBundled({ DATABASE_URL: Redacted.value(url) })
      const answer = (path: string, init?: RequestInit) =>
        Effect.promise(async () => {
          const response = await fetch(`${service.base}${path}`, init)
          return { status: response.status, text: await response.text() }
        })

      expect((yield* answer("/health")).status).toBe(200)
      const created = yield* answer("/users/7/tasks", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "bundled" })
      })
      expect(created.status).toBe(201)
      const listed = yield* answer("/users/7/tasks")
      expect(listed.status).toBe(200)
      expect(JSON.parse(listed.text)).toEqual([JSON.parse(created.text)])

      const document = yield* answer("/openapi.json")
      expect(JSON.parse(document.text)).toEqual(JSON.parse(Fs.readFileSync("openapi.json", "utf8")))
      // The docs page comes from a chunk of its own, loaded on the first request for it.
      const docs = yield* answer("/docs")
      expect(docs.status).toBe(200)
      expect(docs.text).toContain("<html")
    }), 120_000)
})
