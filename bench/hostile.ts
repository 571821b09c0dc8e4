/**
 * `npm run bench:hostile`: what hostile bodies of up to 1 MiB cost the service (issue 13), against
 * `npm start`'s bundle and node flags on a fresh database of the local PostgreSQL.
 *
 * (a) 50 POSTs each of: 1 MiB of `[`; a valid 1 MiB object with 100,000 keys; a valid 1 MiB JSON
 *     string. Per request: the client's latency, and the service's CPU time from the scheduler
 *     (/proc/<pid>/task/<tid>/schedstat, in nanoseconds), read before and after each request: of
 *     the main thread, where the event loop runs, and of all threads (GC helpers included).
 *     Target: ≤ 5 ms of event-loop CPU per nested body. The same 50 bodies of brackets also go to
 *     a floor: a bare node:http server with the same node flags that reads the body, drops it and
 *     answers 400, i.e. what receiving 1 MiB costs node itself (the socket reads, and the garbage
 *     collections that their buffers trigger).
 * (b) another user's GET of one task, p50/p99 alone, then while 8 clients each POST the nested body
 *     about 7 times a second. Target: p99 under load within 2× of idle.
 *
 * Options (env): BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * HOSTILE_GETS (requests per GET phase, default 2000).
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Http from "node:http"
import { loadavg } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import postgres from "postgres"
import { freePort } from "./lib/database.ts"
import { launch, stop, threadCpuNs } from "./lib/processes.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const adminUrl = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
const GETS = Number(process.env.HOSTILE_GETS ?? 2000)
const MIB = 1024 * 1024
const REPEATS = 50
const ATTACKERS = 8
const ATTACK_INTERVAL_MS = 143 // ~7 requests/s per attacker, as in the issue

// ---------------------------------------------------------------------------------------
// Bodies, each exactly 1 MiB (the largest the contract accepts)

const nested = Buffer.alloc(MIB, "[")

/** `{"0000":0,…}` with 100,000 keys, padded to 1 MiB by the last key's string value. */
const wide = (() => {
  const entries = Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36).padStart(4, "0")}":0`).join(",")
  const head = `{${entries},"pad":"`
  return Buffer.from(`${head}${"a".repeat(MIB - head.length - 2)}"}`)
})()

const longString = Buffer.from(`"${"a".repeat(MIB - 2)}"`)

// ---------------------------------------------------------------------------------------
// HTTP

const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })

const request = (base: string, method: string, target: string, body?: Buffer) =>
  new Promise<{ status: number; millis: number }>((resolve, reject) => {
    const started = performance.now()
    const outgoing = Http.request(`${base}${target}`, {
      method,
      agent,
      headers: body === undefined ? {} : { "content-type": "application/json", "content-length": body.length }
    }, (response) => {
      response.resume()
      response.on("end", () => resolve({ status: response.statusCode ?? 0, millis: performance.now() - started }))
      response.on("error", reject)
    })
    outgoing.on("error", reject)
    outgoing.end(body)
  })

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------
// Phases

interface BodyResult {
  readonly name: string
  readonly statuses: string
  readonly latencyP50: number
  readonly latencyMax: number
  /** Event-loop (main thread) CPU per request: median, mean and the slowest. */
  readonly loopMsP50: number
  readonly loopMsMean: number
  readonly loopMsMax: number
  /** CPU of all the process's threads per request, mean. */
  readonly cpuMsMean: number
}

const bodyPhase = async (base: string, pid: number, name: string, body: Buffer): Promise<BodyResult> => {
  const latencies: Array<number> = []
  const statuses = new Map<number, number>()
  const loops: Array<number> = []
  let allNs = 0
  for (let i = 0; i < REPEATS; i++) {
    const before = threadCpuNs(pid)!
    const { millis, status } = await request(base, "POST", "/users/1/tasks", body)
    const after = threadCpuNs(pid)!
    loops.push((after.mainNs - before.mainNs) / 1e6)
    allNs += after.allNs - before.allNs
    latencies.push(millis)
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }
  latencies.sort((a, b) => a - b)
  return {
    name,
    statuses: [...statuses].map(([status, count]) => `${count}×${status}`).join(" "),
    latencyP50: quantile(latencies, 0.5),
    latencyMax: latencies[latencies.length - 1]!,
    loopMsP50: quantile(loops.sort((a, b) => a - b), 0.5),
    loopMsMean: loops.reduce((sum, ms) => sum + ms, 0) / REPEATS,
    loopMsMax: loops[loops.length - 1]!,
    cpuMsMean: allNs / 1e6 / REPEATS
  }
}

const getPhase = async (base: string, target: string) => {
  const latencies: Array<number> = []
  let failures = 0
  for (let i = 0; i < GETS; i++) {
    const { millis, status } = await request(base, "GET", target)
    if (status !== 200) failures++
    latencies.push(millis)
  }
  latencies.sort((a, b) => a - b)
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies[latencies.length - 1]!, failures }
}

/** ATTACKERS loops, each sending the nested body every ATTACK_INTERVAL_MS until `running()` turns false. */
const attack = (base: string, running: () => boolean) => {
  let sent = 0
  const statuses = new Map<number, number>()
  const loops = Array.from({ length: ATTACKERS }, async (_, i) => {
    await sleep((ATTACK_INTERVAL_MS / ATTACKERS) * i) // spread them over the interval
    while (running()) {
      const started = performance.now()
      const { status } = await request(base, "POST", `/users/${100 + i}/tasks`, nested)
      sent++
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      await sleep(Math.max(0, ATTACK_INTERVAL_MS - (performance.now() - started)))
    }
  })
  return async () => {
    await Promise.all(loops)
    return { sent, statuses: [...statuses].map(([status, count]) => `${count}×${status}`).join(" ") }
  }
}

// ---------------------------------------------------------------------------------------

const startFlags = (): Array<string> => {
  const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }
  const [command, ...args] = manifest.scripts.start.split(/\s+/)
  if (command !== "node") throw new Error(`npm start is not "node …": ${manifest.scripts.start}`)
  return args
}

/** The floor: node:http reading a body and dropping it, nothing else. */
const FLOOR_SERVER = `
const http = require("node:http")
http.createServer((request, response) => {
  request.on("end", () => {
    const status = request.method === "GET" ? 200 : 400
    response.writeHead(status, { "content-type": "application/json", "content-length": 2 })
    response.end("{}")
  })
  request.resume()
}).listen(Number(process.env.PORT), "127.0.0.1")
`

const floorPhase = async (env: NodeJS.ProcessEnv): Promise<BodyResult> => {
  const port = await freePort()
  const nodeFlags = startFlags().filter((arg) => arg.startsWith("--"))
  const floor = await launch({
    name: "floor",
    command: process.execPath,
    args: [...nodeFlags, "-e", FLOOR_SERVER],
    cwd: root,
    env: { ...env, PORT: String(port) },
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 30_000
  })
  try {
    for (let i = 0; i < 20; i++) await request(floor.baseUrl, "POST", "/users/1/tasks", nested)
    return await bodyPhase(floor.baseUrl, floor.pid, "1 MiB of [, floor (bare node:http)", nested)
  } finally {
    await stop(floor)
  }
}

const main = async () => {
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (${"2"} cores assumed shared)`)
  execFileSync("npm", ["run", "--silent", "build:server"], { cwd: root, stdio: "inherit" })
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined })
  const name = `hostile_${randomBytes(4).toString("hex")}`
  await admin.unsafe(`CREATE DATABASE ${name}`)
  const databaseUrl = new URL(adminUrl)
  databaseUrl.pathname = `/${name}`
  const port = await freePort()
  const { DATA_DIR: _dir, ...env } = process.env
  const service = await launch({
    name: "service",
    command: process.execPath,
    args: startFlags(),
    cwd: root,
    env: { ...env, DATABASE_URL: databaseUrl.toString(), PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "Warn" },
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 60_000
  })
  const base = service.baseUrl
  try {
    const created = await new Promise<number>((resolve, reject) => {
      const outgoing = Http.request(`${base}/users/2/tasks`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (response) => {
        let text = ""
        response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
        response.on("end", () => resolve((JSON.parse(text) as { id: number }).id))
      })
      outgoing.on("error", reject)
      outgoing.end(JSON.stringify({ title: "the victim's task" }))
    })
    const victim = `/users/2/tasks/${created}`

    // Warm-up: the first requests of a process pay for V8's compilation.
    for (let i = 0; i < 20; i++) {
      await request(base, "POST", "/users/1/tasks", nested)
      await request(base, "GET", victim)
    }

    const bodies = [
      await bodyPhase(base, service.pid, "1 MiB of [", nested),
      await bodyPhase(base, service.pid, "1 MiB, 100k keys", wide),
      await bodyPhase(base, service.pid, "1 MiB JSON string", longString),
      await floorPhase(env)
    ]
    console.log("\n(a) hostile bodies, 50 POSTs each, one at a time")
    console.log("| body | answers | client p50 ms | client max ms | event loop CPU ms p50 / mean / max | all threads CPU ms mean |")
    console.log("| --- | --- | ---: | ---: | ---: | ---: |")
    for (const row of bodies) {
      console.log(
        `| ${row.name} | ${row.statuses} | ${row.latencyP50.toFixed(2)} | ${row.latencyMax.toFixed(2)} | ` +
          `${row.loopMsP50.toFixed(2)} / ${row.loopMsMean.toFixed(2)} / ${row.loopMsMax.toFixed(2)} | ${row.cpuMsMean.toFixed(2)} |`
      )
    }

    const idle = await getPhase(base, victim)
    let running = true
    const stopAttack = attack(base, () => running)
    await sleep(500)
    const attacked = await getPhase(base, victim)
    running = false
    const attackers = await stopAttack()
    console.log(`\n(b) GET ${victim}, ${GETS} requests one at a time, alone and under ${ATTACKERS} clients POSTing 1 MiB of [ ~7/s each`)
    console.log("| phase | p50 ms | p99 ms | max ms | non-200 |")
    console.log("| --- | ---: | ---: | ---: | ---: |")
    console.log(`| idle | ${idle.p50.toFixed(2)} | ${idle.p99.toFixed(2)} | ${idle.max.toFixed(2)} | ${idle.failures} |`)
    console.log(`| under attack | ${attacked.p50.toFixed(2)} | ${attacked.p99.toFixed(2)} | ${attacked.max.toFixed(2)} | ${attacked.failures} |`)
    console.log(`attackers sent ${attackers.sent} bodies: ${attackers.statuses}`)

    const nestedLoop = bodies[0]!.loopMsMax
    console.log("")
    console.log(
      `${nestedLoop <= 5 ? "PASS" : "MISS"} nested 1 MiB body: at most ${nestedLoop.toFixed(2)} ms of event-loop CPU ` +
        `per request (target ≤ 5 each)`
    )
    console.log(
      `${attacked.p99 <= 2 * idle.p99 ? "PASS" : "MISS"} victim p99 under attack ${attacked.p99.toFixed(2)} ms vs idle ` +
        `${idle.p99.toFixed(2)} ms (target ≤ 2×)`
    )
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  } finally {
    agent.destroy()
    await stop(service)
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end({ timeout: 5 })
  }
}

await main()
