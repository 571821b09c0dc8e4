import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { existsSync, readdirSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import postgres from "postgres"
import { bundleArgs, checkMigrations, prepareBefore, removeBefore, resolveRef } from "../lib/before.ts"
import type { Before } from "../lib/before.ts"
import { freePort } from "../lib/database.ts"
import { parseConfig } from "../lib/config.ts"
import { launch, npmScript, stop } from "../lib/processes.ts"
import type { Running } from "../lib/processes.ts"
import { targetSpec } from "../lib/session.ts"

/**
 * The `before` target's preparation: a463862 (the commit before version 2) extracted into the
 * project's node_modules, bundled with the service's own esbuild flags, started as the runner
 * starts it (npm start's node flags, in its tree) on a fresh database of TEST_DATABASE_URL, and
 * its first start must apply its own migrations (one), not the project's (three at least).
 * No wrk: nothing here is a measurement.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
const database = `bench_test_${randomBytes(4).toString("hex")}_before`
const databaseUrl = (() => {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
})()
const projectMigrations = readdirSync(path.join(root, "migrations")).filter((file) => /^\d+_.+\.sql$/.test(file))

let before: Before
let running: Running | undefined

beforeAll(async () => {
  before = await prepareBefore(root, "a463862")
  await admin.unsafe(`CREATE DATABASE ${database}`)
}, 120_000)

afterAll(async () => {
  if (running !== undefined) await stop(running)
  await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await admin.end({ timeout: 5 })
  if (before !== undefined) await removeBefore(before)
})

describe("the before target", () => {
  it("extracts the commit inside the project's node_modules and bundles it with the service's esbuild flags", () => {
    expect(before.commit).toBe("a463862cd630f2f50619efa92b169e6b838c259d")
    expect(before.short).toBe("a463862")
    expect(path.dirname(before.dir)).toBe(path.join(root, "node_modules", ".cache"))
    expect(before.bundle).toBe(path.join(before.dir, "dist", "main.js"))
    expect(existsSync(before.bundle)).toBe(true)
    // --splitting with the migrate entry point, as `npm run build:server` bundles the service.
    expect(existsSync(path.join(before.dir, "dist", "migrate.js"))).toBe(true)
    expect(existsSync(path.join(before.dir, "dist", "main.js.map"))).toBe(true)
    expect(bundleArgs(root)).toEqual(expect.arrayContaining(["src/main.ts", "--bundle", "--external:pg", "--outdir=dist"]))
    expect(npmScript(root, "build:server")).toContain(bundleArgs(root).join(" "))
    // The same effect packages: the commit runs on today's node_modules as it pinned them.
    expect(before.dependencyMismatches).toEqual([])
  })

  it("finds the commit's own migrations/, which differ from the project's", () => {
    expect(before.migrations).toEqual(["0001_create_users_and_tasks"])
    expect(projectMigrations.length).toBeGreaterThan(before.migrations.length)
  })

  it("starts as the runner starts it and applies its own migrations to its fresh database", async () => {
    const config = parseConfig(["--before", "a463862", "--targets", "service,before"], {})
    if (config === "help") throw new Error("not a configuration")
    const databases = {
      description: database, envFor: () => ({ DATABASE_URL: databaseUrl }), shared: false, userBase: 0, release: async () => undefined
    }
    const spec = targetSpec({ root, config, databases, workDir: before.dir, before }, "before", await freePort(), "test")
    // In its own tree, on the bundle, with npm start's node flags.
    expect([spec.cwd, spec.args.at(-1)]).toEqual([before.dir, before.bundle])
    expect(npmScript(root, "start")).toBe(`node ${spec.args.slice(0, -1).join(" ")} dist/main.js`)
    running = await launch(spec)
    const created = await fetch(`${running.baseUrl}/users/7/tasks`, {
      method: "POST", headers: { "content-type": "application/json" }, body: '{"title":"before"}'
    })
    expect(created.status).toBe(201)
    expect(await checkMigrations(databaseUrl, before)).toBeUndefined()
    // The check sees it when a bundle applied other migrations than its tree holds.
    const project = { migrations: projectMigrations.map((file) => file.replace(/\.sql$/, "")) }
    expect(await checkMigrations(databaseUrl, project)).toMatch(/^applied migrations 1_create_users_and_tasks, where its migrations\/ holds 0001_/)
  }, 90_000)

  it("fails with the reason for a ref that is not a commit, or a commit without the service, and leaves nothing behind", async () => {
    expect(() => resolveRef(root, "no-such-ref-0123")).toThrow("--before no-such-ref-0123: not a commit of this repository")
    const cache = path.join(root, "node_modules", ".cache")
    const leftovers = () => (existsSync(cache) ? readdirSync(cache).filter((entry) => entry.startsWith("bench-before-")) : [])
    const already = leftovers()
    // ffa1ee5 added src/main.ts: its parent has none.
    await expect(prepareBefore(root, "ffa1ee5^")).rejects.toThrow(/^--before ffa1ee5\^ \([0-9a-f]+\): the commit has no src\/main.ts$/)
    expect(leftovers()).toEqual(already)
  })

  it("removes the extracted tree", async () => {
    const other = await prepareBefore(root, "a463862")
    expect(other.dir).not.toBe(before.dir)
    await removeBefore(other)
    expect(existsSync(other.dir)).toBe(false)
    expect(existsSync(before.dir)).toBe(true)
  }, 120_000)
})
