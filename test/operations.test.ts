import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Deferred, Duration, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import { UserId } from "../src/domain/index.ts"
import { TaskRepository } from "../src/repository/TaskRepository.ts"
import { TaskRepositorySql } from "../src/repository/TaskRepositorySql.ts"
import { asError, asTask, asTasks, call, json, serve } from "./support/http.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"
import { faultyProxy } from "./support/proxy.ts"
import { startService } from "./support/service.ts"

/** What production brings: browsers, slow clients, signals, database outages, several instances. */

const seconds = (start: number) => (Date.now() - start) / 1000

describe("CORS", () => {
  it.scopedLive("answers preflights and allows any origin by default", () =>
    Effect.gen(function*() {
      const base = yield* serve()
      const preflight = yield* call(base, "OPTIONS", "/users/1/tasks/1", undefined, {
        origin: "https://app.example",
        "access-control-request-method": "PUT",
        "access-control-request-headers": "content-type"
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers["access-control-allow-origin"]).toBe("*")
      expect(preflight.headers["access-control-allow-methods"]).toBe("GET, PUT, DELETE, HEAD, OPTIONS")
      // Only the headers the API reads, whatever the browser asks for (not an echo).
      const reads = "authorization, content-type, idempotency-key, if-match, if-none-match, x-request-id"
      expect(preflight.headers["access-control-allow-headers"]).toBe(reads)
      const greedy = yield* call(base, "OPTIONS", "/users/1/tasks", undefined, {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-anything, cookie"
      })
      expect(greedy.headers["access-control-allow-headers"]).toBe(reads)
      const get = yield* call(base, "GET", "/users/1/tasks", undefined, { origin: "https://app.example" })
      expect(get.headers["access-control-allow-origin"]).toBe("*")
      expect(get.headers["access-control-expose-headers"]).toBe("etag, link, location, retry-after, traceresponse, www-authenticate, x-request-id")
    }))

  it.scopedLive("with CORS_ORIGINS, only the listed origins are allowed", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { corsOrigins: ["https://a.example", "https://b.example"] })
      const allowed = yield* call(base, "GET", "/users/1/tasks", undefined, { origin: "https://b.example" })
      expect(allowed.headers["access-control-allow-origin"]).toBe("https://b.example")
      expect(allowed.headers.vary).toBe("Origin")
      const other = yield* call(base, "OPTIONS", "/users/1/tasks", undefined, { origin: "https://evil.example" })
      expect(other.headers["access-control-allow-origin"]).toBeUndefined()
    }))
})

describe("slow clients", () => {
  it.scopedLive("a client that never finishes its headers is disconnected", () =>
    Effect.gen(function*() {
      const base = yield* serve(undefined, { headersTimeout: Duration.seconds(1), requestTimeout: Duration.seconds(2) })
      const port = Number(new URL(base).port)
      const start = Date.now()
      const closed = yield* Effect.promise(() =>
        new Promise<boolean>((resolve) => {
          const socket = Net.connect(port, "127.0.0.1", () => socket.write("GET /users/1/tasks HTTP/1.1\r\nHost: x\r\n"))
          socket.on("close", () => resolve(true))
          socket.on("error", () => undefined)
          setTimeout(() => {
            socket.destroy()
            resolve(false)
          }, 8_000)
        })
      )
      expect(closed).toBe(true)
      expect(seconds(start)).toBeLessThan(5)
      // The server itself is still fine.
      expect((yield* call(base, "GET", "/health")).status).toBe(200)
    }))
})

describe("database outages", () => {
  it.scopedLive("fail fast with the 500 envelope, keep /health up, and recover by themselves", () =>
    Effect.gen(function*() {
      const url = new URL(Redacted.value(yield* freshDatabaseUrl))
      const proxy = yield* faultyProxy({ host: url.hostname, port: Number(url.port) })
      url.host = `127.0.0.1:${proxy.port}`
      const repository = TaskRepositorySql.pipe(
        Layer.provide(MigratorLive),
        Layer.provide(pgLayer(Redacted.make(url.toString()), {
          poolSize: 4,
          connectTimeout: Duration.seconds(2),
          queryTimeout: Duration.seconds(2)
        })),
        Layer.provide(NodeContext.layer),
        Layer.orDie
      )
      const base = yield* serve(repository)
      const created = yield* call(base, "POST", "/users/1/tasks", json({ title: "before the outage" }))
      expect(created.status).toBe(201)

      for (const fault of ["down", "blackhole", "stall"] as const) {
        if (fault === "down") yield* Effect.promise(() => proxy.down())
        else if (fault === "blackhole") proxy.blackhole()
        else proxy.stall()
        // A write sent into a stalled connection may still be applied once the network
        // thaws (no client can know); so the stall is probed with reads only.
        const requests = [
          ["GET", "/users/1/tasks", undefined],
          ["POST", "/users/1/tasks", json({ title: "during" })],
          ["GET", `/users/1/tasks/${asTask(created).id}`, undefined]
        ] as const
        for (const [method, path, body] of requests.filter(([method]) => fault !== "stall" || method === "GET")) {
          const start = Date.now()
          const answer = yield* call(base, method, path, body)
          expect(answer.status, `${fault}: ${method} ${path}`).toBe(500)
          expect(asError(answer)).toEqual({ code: "INTERNAL_ERROR", message: "Internal server error" })
          expect(seconds(start)).toBeLessThan(5)
        }
        const start = Date.now()
        const ready = yield* call(base, "GET", "/health/ready")
        expect(ready.status).toBe(503)
        expect(asError(ready).code).toBe("SERVICE_UNAVAILABLE")
        expect(seconds(start)).toBeLessThan(5)
        expect((yield* call(base, "GET", "/health")).status).toBe(200)

        yield* Effect.promise(() => proxy.up())
        const back = Date.now()
        let listed = yield* call(base, "GET", "/users/1/tasks")
        while (listed.status !== 200 && seconds(back) < 10) {
          yield* Effect.sleep("200 millis")
          listed = yield* call(base, "GET", "/users/1/tasks")
        }
        expect(listed.status).toBe(200)
        // Nothing written during the outage: the failed creates left no trace.
        expect(asTasks(listed).map((task) => task.title)).toEqual(["before the outage"])
        expect((yield* call(base, "GET", "/health/ready")).status).toBe(200)
      }
    }), 90_000)
})

describe("writes that time out", () => {
  it.scopedLive("are rolled back by PostgreSQL: the 500 they answer leaves no trace", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const timeouts = { poolSize: 4, connectTimeout: Duration.seconds(2), queryTimeout: Duration.seconds(1) }
      const repository = TaskRepositorySql.pipe(
        Layer.provide(MigratorLive),
        Layer.provide(pgLayer(url, timeouts)),
        Layer.provide(NodeContext.layer),
        Layer.orDie
      )
      const base = yield* serve(repository)
      const created = asTask(yield* call(base, "POST", "/users/1/tasks", json({ title: "before" })))
      const locker = yield* Layer.build(pgLayer(url, timeouts))
      const sql = Context.get(locker, SqlClient.SqlClient)

      // Another session holds the task's row, then the owner's row, past the timeout.
      for (const [lock, method, path, body] of [
        [sql`SELECT 1 FROM tasks WHERE id = ${created.id} FOR UPDATE`, "PUT", `/users/1/tasks/${created.id}`, { title: "late" }],
        [sql`SELECT 1 FROM users WHERE id = 1 FOR UPDATE`, "POST", "/users/1/tasks", { title: "late" }],
        [sql`SELECT 1 FROM tasks WHERE id = ${created.id} FOR UPDATE`, "DELETE", `/users/1/tasks/${created.id}`, undefined]
      ] as const) {
        const release = yield* Deferred.make<void>()
        const locked = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          sql.withTransaction(lock.pipe(Effect.zipRight(Deferred.succeed(locked, undefined)), Effect.zipRight(Deferred.await(release))))
        )
        yield* Deferred.await(locked)
        const start = Date.now()
        const answer = yield* call(base, method, path, body === undefined ? undefined : json(body))
        expect(answer.status, `${method} ${path}`).toBe(500)
        expect(seconds(start)).toBeLessThan(4)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
      }
      yield* Effect.sleep("500 millis")
      const listed = asTasks(yield* call(base, "GET", "/users/1/tasks"))
      expect(listed.map((task) => task.title)).toEqual(["before"])
    }), 60_000)

  it.scopedLive("the timeout is the role's on this database: every session has it, it cancels any statement past it", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      // One connection, so the statements below run on the very connection the writes used.
      const context = yield* Layer.build(
        TaskRepositorySql.pipe(
          Layer.provide(MigratorLive),
          Layer.provideMerge(pgLayer(url, { poolSize: 1, connectTimeout: Duration.seconds(2), queryTimeout: Duration.millis(300) })),
          Layer.provide(NodeContext.layer)
        )
      )
      const tasks = Context.get(context, TaskRepository)
      const sql = Context.get(context, SqlClient.SqlClient)
      const created = yield* tasks.create(UserId.make(1), { title: "t", description: null }, Option.none())
      expect(created._tag).toBe("Created")
      if (created._tag !== "Created") return
      yield* tasks.update(UserId.make(1), created.task.id, { completed: true }, Option.none())
      yield* tasks.remove(UserId.make(1), created.task.id, Option.none())
      const [setting] = yield* sql<{ statement_timeout: string }>`SHOW statement_timeout`
      expect(setting?.statement_timeout).toBe("300ms")
      // Set by the role's default, not by a session SET: nothing to leak through a pooler.
      const failed = yield* Effect.flip(sql`SELECT pg_sleep(0.5)`)
      expect(String(failed.cause)).toContain("statement timeout")
    }), 30_000)
})

describe("configuration", () => {
  it.live("an invalid value stops start-up with one line naming it, and exit code 1", () =>
    Effect.gen(function*() {
      for (const [name, value] of [
        ["PORT", "abc"],
        ["LOG_LEVEL", "loud"],
        ["HTTP_HEADERS_TIMEOUT", "60 seconds"],
        ["DATABASE_POOL_SIZE", "0"],
        ["DATABASE_URL", "mysql://localhost/tasks"]
      ] as const) {
        const { code, output } = yield* Effect.promise(() =>
          new Promise<{ code: number | null; output: string }>((resolve) => {
            const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
              cwd: new URL("..", import.meta.url),
              env: { ...process.env, DATABASE_URL: "postgres://127.0.0.1:1/none", [name]: value },
              stdio: ["ignore", "pipe", "pipe"]
            })
            let output = ""
            child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
            child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
            child.on("exit", (code) => resolve({ code, output }))
          })
        )
        expect(code, output).toBe(1)
        const lines = output.trim().split("\n")
        expect(lines, output).toHaveLength(1)
        expect(lines[0]).toMatch(/^Invalid configuration: /)
        expect(lines[0]).toContain(name === "HTTP_HEADERS_TIMEOUT" ? "HTTP_HEADERS_TIMEOUT" : name)
      }
    }), 60_000)
})

describe("processes", () => {
  it.scopedLive("SIGTERM: a request in flight completes with its 2xx, then the process exits 0", () =>
    Effect.gen(function*() {
      const service = yield* startService({ DATABASE_URL: Redacted.value(yield* freshDatabaseUrl) })
      const port = Number(new URL(service.base).port)
      const body = json({ title: "in flight during shutdown" })
      const response = yield* Effect.promise(() =>
        new Promise<string>((resolve, reject) => {
          const socket = Net.connect(port, "127.0.0.1", () => {
            socket.write(
              `POST /users/1/tasks HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n` +
                `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`
            )
            // The request is under way; now the signal, then the rest of the body.
            setTimeout(() => service.process.kill("SIGTERM"), 300)
            setTimeout(() => socket.write(body.slice(10)), 1_000)
          })
          let text = ""
          socket.on("data", (chunk) => (text += chunk.toString("utf8")))
          socket.on("close", () => resolve(text))
          socket.on("error", reject)
        })
      )
      expect(response).toMatch(/^HTTP\/1\.1 201 /)
      expect(response.toLowerCase()).toContain("connection: close")
      expect(response).toContain("in flight during shutdown")
      const code = yield* Effect.promise(() => service.exited)
      expect(code).toBe(0)
      const refused = yield* Effect.promise(() =>
        new Promise<boolean>((resolve) => {
          const socket = Net.connect(port, "127.0.0.1")
          socket.on("connect", () => resolve(socket.destroy() === undefined && false))
          socket.on("error", () => resolve(true))
        })
      )
      expect(refused).toBe(true)
      expect(service.output()).toContain("HTTP server closed")
    }), 90_000)

  it.scopedLive("two instances on one database keep every guarantee", () =>
    Effect.gen(function*() {
      const url = Redacted.value(yield* freshDatabaseUrl)
      // Started together: their migrations must not collide either.
      const [a, b] = yield* Effect.all([startService({ DATABASE_URL: url }), startService({ DATABASE_URL: url })], {
        concurrency: 2
      })
      const bases = [a.base, b.base]
      const created = yield* Effect.all(
        Array.from({ length: 60 }, (_, i) => call(bases[i % 2]!, "POST", "/users/77/tasks", json({ title: `t${i}` }))),
        { concurrency: "unbounded" }
      )
      expect(created.every((answer) => answer.status === 201)).toBe(true)
      expect(new Set(created.map((answer) => asTask(answer).id)).size).toBe(60)
      const target = asTask(created[0]!).id
      const updates = Array.from({ length: 30 }, (_, i) => ({ title: `u${i}`, completed: i % 2 === 0 }))
      const updated = yield* Effect.all(
        updates.map((update, i) => call(bases[i % 2]!, "PUT", `/users/77/tasks/${target}`, json(update))),
        { concurrency: "unbounded" }
      )
      expect(updated.every((answer) => answer.status === 200)).toBe(true)
      const [fromA, fromB] = yield* Effect.all([
        call(a.base, "GET", `/users/77/tasks/${target}`),
        call(b.base, "GET", `/users/77/tasks/${target}`)
      ])
      expect(fromA.json).toEqual(fromB.json)
      const final = asTask(fromA)
      expect(updates).toContainEqual({ title: final.title, completed: final.completed })
      expect(asTasks(yield* call(b.base, "GET", "/users/77/tasks"))).toHaveLength(60)

      // Many rows at once from both processes, in opposite orders: batches of several rows
      // lock them in id order, so no deadlock (which would surface as 500s).
      const ids = created.map((answer) => asTask(answer).id)
      const crossed = yield* Effect.all(
        [
          ...ids.map((id) => call(a.base, "PUT", `/users/77/tasks/${id}`, json({ completed: true }))),
          ...[...ids].reverse().map((id) => call(b.base, "PUT", `/users/77/tasks/${id}`, json({ title: `b${id}` })))
        ],
        { concurrency: "unbounded" }
      )
      expect(crossed.map((answer) => answer.status)).toEqual(Array(crossed.length).fill(200))
      const after = asTasks(yield* call(a.base, "GET", "/users/77/tasks"))
      expect(after.every((task) => task.completed && task.title === `b${task.id}`)).toBe(true)
    }), 120_000)

  it.scopedLive("the database password never reaches the logs", () =>
    Effect.gen(function*() {
      const url = new URL(Redacted.value(yield* freshDatabaseUrl))
      if (url.password === "") url.password = "Sup3r-Secret-Passw0rd"
      const service = yield* startService({ DATABASE_URL: url.toString() })
      yield* call(service.base, "GET", "/users/1/tasks")
      yield* call(service.base, "GET", "/health/ready")
      service.process.kill("SIGTERM")
      yield* Effect.promise(() => service.exited)
      expect(service.output()).toContain("Using PostgreSQL at")
      expect(service.output()).not.toContain(decodeURIComponent(url.password))
    }), 60_000)
})
