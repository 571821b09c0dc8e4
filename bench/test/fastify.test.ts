import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import postgres from "postgres"
import { freePort } from "../lib/database.ts"
import { launch, stop } from "../lib/processes.ts"
import type { Running } from "../lib/processes.ts"
import { probeWire } from "../lib/seed.ts"
import { wireCheck } from "../lib/wire.ts"

/**
 * The Fastify target against the baseline, black-box: the benchmark's whole probe conversation
 * must come back identical, and the contract's corners the probes do not reach must hold too.
 * Each target gets a fresh database on TEST_DATABASE_URL (default: the local PostgreSQL the
 * benchmark uses).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
const names = [`bench_test_${randomBytes(4).toString("hex")}_f`, `bench_test_${randomBytes(4).toString("hex")}_b`] as const
const urlOf = (name: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

const start = async (entry: string, database: string): Promise<Running> => {
  const port = await freePort()
  return launch({
    name: entry, command: process.execPath, args: ["--import", "tsx", entry], cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: urlOf(database) },
    baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 30_000
  })
}

let fastify: Running
let baseline: Running

beforeAll(async () => {
  for (const name of names) await admin.unsafe(`CREATE DATABASE ${name}`)
  ;[fastify, baseline] = await Promise.all([start("bench/fastify.ts", names[0]), start("bench/baseline.ts", names[1])])
})

afterAll(async () => {
  await Promise.all([fastify, baseline].filter((target) => target !== undefined).map((target) => stop(target)))
  for (const name of names) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.end({ timeout: 5 })
})

const ask = async (target: Running, method: string, url: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
  const response = await fetch(target.baseUrl + url, { method, ...init })
  return { status: response.status, body: await response.text() }
}

describe("the Fastify target", () => {
  it("answers the probe conversation with the baseline's statuses and bytes", async () => {
    const probes = { baseline: await probeWire(baseline.baseUrl, 4242), fastify: await probeWire(fastify.baseUrl, 4242) }
    const check = wireCheck(probes)
    expect(check.reference).toBe("baseline")
    expect(check.mismatches).toEqual([])
    expect(probes.fastify).toHaveLength(23)
  })

  it("reads a body sent as text/plain as JSON, as the service's version 1 does", async () => {
    const answer = await ask(fastify, "POST", "/users/77/tasks", { body: '{"title":"plain"}', headers: { "content-type": "text/plain" } })
    expect(answer.status).toBe(201)
    expect(JSON.parse(answer.body)).toMatchObject({ title: "plain", description: null, completed: false, user_id: 77 })
  })

  it("refuses what PostgreSQL could not store, and keeps types strict in bodies", async () => {
    for (const [body, field, expected] of [
      ['{"title":"a\\u0000b"}', "title", "text without NUL characters or unpaired surrogates"],
      ['{"title":"ok","description":"\\ud800"}', "description", "text without NUL characters or unpaired surrogates"],
      ['{"title":"ok","description":5}', "description", "a string or null"],
      ['{"title":"5","completed":"true"}', "completed", "a boolean"]
    ] as const) {
      const url = field === "completed" ? "/users/77/tasks/1" : "/users/77/tasks"
      const answer = await ask(fastify, field === "completed" ? "PUT" : "POST", url, { body, headers: { "content-type": "application/json" } })
      expect(answer.status).toBe(400)
      expect(JSON.parse(answer.body).error.details).toEqual({ field, constraint: "type", expected })
    }
  })

  it("ignores __proto__ like any unknown field", async () => {
    const answer = await ask(fastify, "POST", "/users/78/tasks", {
      body: '{"title":"proto","__proto__":{"completed":true}}', headers: { "content-type": "application/json" }
    })
    expect(answer.status).toBe(201)
    expect(JSON.parse(answer.body)).toMatchObject({ title: "proto", completed: false })
  })

  it("answers HEAD and other unrouted methods on a known path with 405, an oversized body with 413", async () => {
    expect((await ask(fastify, "HEAD", "/users/1/tasks")).status).toBe(405)
    expect(await ask(fastify, "DELETE", "/users/1/tasks")).toEqual({
      status: 405, body: '{"error":{"code":"METHOD_NOT_ALLOWED","message":"Method not allowed"}}'
    })
    const big = await ask(fastify, "POST", "/users/1/tasks", {
      body: JSON.stringify({ title: "x".repeat(1024 * 1024) }), headers: { "content-type": "application/json" }
    })
    expect(big).toEqual({ status: 413, body: '{"error":{"code":"PAYLOAD_TOO_LARGE","message":"Request body is too large"}}' })
  })
})
