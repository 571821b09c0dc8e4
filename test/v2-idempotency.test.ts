import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"
import { asError, asTask, asTasks, call, serve } from "./support/http.ts"
import { repositories } from "./support/repositories.ts"
import { create, list, remove, update, violation } from "./support/v2.ts"

/**
 * CONTRACT "Version 2: safe retries of creates", black-box, on every repository: a repeat
 * answers as the first and creates nothing; a different body is a 422; a refused request
 * does not use up its key; users never share keys; malformed keys are a 400.
 */

const countOf = (base: string, user: number) => Effect.map(list(base, user), (answer) => asTasks(answer).length)

const titleBody = `{"title":"t"}`

/** Bytes on a socket and everything that comes back, for requests node's client will not send. */
const rawRequest = (base: string, bytes: string) =>
  Effect.async<string>((resume) => {
    const socket = Net.connect(Number(new URL(base).port), "127.0.0.1", () => socket.end(Buffer.from(bytes, "latin1")))
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk: Buffer) => chunks.push(chunk))
    socket.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1"))))
    socket.on("error", (error) => resume(Effect.die(error)))
    return Effect.sync(() => socket.destroy())
  })

const raw = (base: string, user: number, body: string, key: string) =>
  call(base, "POST", `/users/${user}/tasks`, body, { "content-type": "application/json", "idempotency-key": key })

for (const [name, layer] of repositories) {
  describe(`idempotent creates (${name})`, () => {
    it.scopedLive("a repeat answers the first status and body, even after the task changed or went, and creates nothing", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const body = { title: "once", description: "only once" }
        const first = yield* create(base, 1, body, { "idempotency-key": "key-1" })
        expect(first.status).toBe(201)
        const task = asTask(first)
        const again = yield* create(base, 1, body, { "idempotency-key": "key-1" })
        expect(again.status).toBe(201)
        expect(again.text).toBe(first.text)
        // The task it carries is the first answer's, and so is its tag.
        expect(again.headers["etag"]).toBe(first.headers["etag"])
        expect(again.headers["location"]).toBe(first.headers["location"])
        expect(yield* countOf(base, 1)).toBe(1)
        expect((yield* update(base, 1, task.id, { title: "changed since" })).status).toBe(200)
        const afterChange = yield* create(base, 1, body, { "idempotency-key": "key-1" })
        expect({ status: afterChange.status, text: afterChange.text }).toEqual({ status: 201, text: first.text })
        expect((yield* remove(base, 1, task.id)).status).toBe(200)
        const afterDelete = yield* create(base, 1, body, { "idempotency-key": "key-1" })
        expect({ status: afterDelete.status, text: afterDelete.text }).toEqual({ status: 201, text: first.text })
        expect(yield* countOf(base, 1)).toBe(0)
        // Without a key, the same body creates again; another key too.
        expect((yield* create(base, 1, body)).status).toBe(201)
        expect((yield* create(base, 1, body, { "idempotency-key": "key-2" })).status).toBe(201)
        expect(yield* countOf(base, 1)).toBe(2)
      }))

    it.scopedLive("the same JSON value is the same body: key order and white space do not matter", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const first = yield* raw(base, 1, `{"title":"a","description":"b"}`, "k")
        expect(first.status).toBe(201)
        for (const same of [`{ "description" : "b",\n\t"title": "a" }`, `  {"title":"a",  "description":"b"}  `]) {
          const again = yield* raw(base, 1, same, "k")
          expect({ same, status: again.status, text: again.text }).toEqual({ same, status: 201, text: first.text })
        }
        expect(yield* countOf(base, 1)).toBe(1)
      }))

    it.scopedLive("the same key with a different body is a 422 IDEMPOTENCY_KEY_REUSED, creating nothing", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const first = yield* create(base, 1, { title: "a", description: null }, { "idempotency-key": "k" })
        expect(first.status).toBe(201)
        for (const other of [{ title: "b", description: null }, { title: "a" }, { title: "a", description: null, extra: 1 }]) {
          const reused = yield* create(base, 1, other, { "idempotency-key": "k" })
          expect({ other, status: reused.status }).toEqual({ other, status: 422 })
          expect(asError(reused).code).toBe("IDEMPOTENCY_KEY_REUSED")
          expect(reused.headers["cache-control"]).toBe("no-store")
        }
        expect(yield* countOf(base, 1)).toBe(1)
        // The first body still replays.
        expect((yield* create(base, 1, { title: "a", description: null }, { "idempotency-key": "k" })).text).toBe(first.text)
      }))

    it.scopedLive("a request refused with a 4xx does not use up its key", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const refusals = [
          yield* create(base, 1, { title: " " }, { "idempotency-key": "k" }),
          yield* create(base, 1, { title: "x".repeat(501) }, { "idempotency-key": "k" }),
          yield* raw(base, 1, "{not json", "k"),
          yield* call(base, "POST", "/users/1/tasks", `{"title":"typed"}`, { "content-type": "text/plain", "idempotency-key": "k" }),
          yield* create(base, 0, { title: "bad user" }, { "idempotency-key": "k" })
        ]
        expect(refusals.map((answer) => answer.status)).toEqual([400, 400, 400, 415, 400])
        const first = yield* create(base, 1, { title: "finally" }, { "idempotency-key": "k" })
        expect(first.status).toBe(201)
        expect(asTask(first).title).toBe("finally")
        expect((yield* create(base, 1, { title: "finally" }, { "idempotency-key": "k" })).text).toBe(first.text)
        expect(yield* countOf(base, 1)).toBe(1)
      }))

    it.scopedLive("keys of different users never meet", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const alice = yield* create(base, 1, { title: "alice's" }, { "idempotency-key": "shared" })
        // Another body under the same key: not a reuse, a create of bob's own.
        const bob = yield* create(base, 2, { title: "bob's" }, { "idempotency-key": "shared" })
        expect(bob.status).toBe(201)
        expect(asTask(bob)).toMatchObject({ title: "bob's", user_id: 2 })
        // The same body under the same key: still bob's own task, never alice's answer.
        const carol = yield* create(base, 3, { title: "alice's" }, { "idempotency-key": "shared" })
        expect(carol.status).toBe(201)
        expect(asTask(carol).user_id).toBe(3)
        expect(asTask(carol).id).not.toBe(asTask(alice).id)
        expect(carol.text).not.toContain(`"user_id":1`)
        expect([yield* countOf(base, 1), yield* countOf(base, 2), yield* countOf(base, 3)]).toEqual([1, 1, 1])
        expect((yield* create(base, 1, { title: "alice's" }, { "idempotency-key": "shared" })).text).toBe(alice.text)
      }))

    it.scopedLive("a malformed key is a 400 on idempotency_key and creates nothing; 1 and 255 visible characters are keys", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        // (White space around a value is not part of it in HTTP: " k" is the key "k".)
        const malformed = ["", "k".repeat(256), "cl\u00e9", "a b", "a\tb", "\u00ff"]
        for (const key of malformed) {
          const answer = yield* create(base, 1, { title: "t" }, { "idempotency-key": key })
          expect({ key, ...violation(answer) }).toMatchObject({
            key,
            status: 400,
            code: "VALIDATION_ERROR",
            field: "idempotency_key",
            constraint: "type"
          })
        }
        expect(yield* countOf(base, 1)).toBe(0)
        for (const key of ["k", "~".repeat(255), "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]) {
          expect({ key, status: (yield* create(base, 1, { title: "t" }, { "idempotency-key": key })).status }).toEqual({
            key,
            status: 201
          })
        }
      }))

    it.scopedLive("a key with control characters is refused with a 400 envelope before anything is created", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        // node's client refuses to send these, so the request is written by hand. HTTP itself
        // forbids them in a field value: node's parser refuses the request before any handler
        // sees its headers, so the 400 names the request (`body`), not the header.
        for (const key of ["a\x7fb", "a\x01b", "a\x00b", "a\x1bb"]) {
          const answer = yield* rawRequest(base, [
            "POST /users/1/tasks HTTP/1.1",
            "host: 127.0.0.1",
            "content-type: application/json",
            `idempotency-key: ${key}`,
            `content-length: ${titleBody.length}`,
            "connection: close",
            "",
            titleBody
          ].join("\r\n"))
          expect({ key, head: answer.split("\r\n")[0] }).toEqual({ key, head: "HTTP/1.1 400 Bad Request" })
          const body = answer.slice(answer.indexOf("\r\n\r\n") + 4)
          expect(JSON.parse(body)).toMatchObject({ error: { code: "VALIDATION_ERROR", details: { constraint: "type" } } })
          expect(answer.toLowerCase()).toContain("cache-control: no-store")
        }
        expect(yield* countOf(base, 1)).toBe(0)
      }))

    it.scopedLive("20 concurrent POSTs with one key create exactly one task; every other answer is the first's or a 409", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const body = { title: "raced", description: null }
        const answers = yield* Effect.all(
          Array.from({ length: 20 }, () => create(base, 1, body, { "idempotency-key": "race" })),
          { concurrency: "unbounded" }
        )
        const created = answers.filter((answer) => answer.status === 201)
        expect(created.length).toBeGreaterThanOrEqual(1)
        expect(new Set(created.map((answer) => answer.text)).size).toBe(1)
        for (const answer of answers.filter((answer) => answer.status !== 201)) {
          expect(answer.status).toBe(409)
          expect(asError(answer).code).toBe("IDEMPOTENCY_KEY_IN_USE")
        }
        const tasks = asTasks(yield* list(base, 1))
        expect(tasks).toHaveLength(1)
        expect(tasks[0]).toEqual(asTask(created[0]!))
      }))

    it.scopedLive("201 carries Location naming the new task, and the task is there", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        for (const headers of [{}, { "idempotency-key": "loc" }]) {
          const answer = yield* create(base, 9, { title: "here" }, headers)
          const task = asTask(answer)
          expect(answer.headers["location"]).toBe(`/users/9/tasks/${task.id}`)
          const there = yield* call(base, "GET", answer.headers["location"]!)
          expect(there.json).toEqual(answer.json)
        }
      }))
  })
}
