import { it } from "@effect/vitest"
import { Effect } from "effect"
import * as Net from "node:net"
import { serve } from "./support/http.ts"

const rawSocket = (base: string, data: string) =>
  Effect.async<string>((resume) => {
    const url = new URL(base)
    const chunks: Array<Buffer> = []
    const socket = Net.connect(Number(url.port), url.hostname, () => socket.end(data))
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("close", () => resume(Effect.succeed(JSON.stringify(Buffer.concat(chunks).toString("latin1")))))
    socket.on("error", (e) => resume(Effect.succeed(`ERROR ${e.message} after ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`)))
  })

it.scopedLive("probe", () =>
  Effect.gen(function*() {
    const base = yield* serve()
    const host = new URL(base).host
    console.log("GETBODY", yield* rawSocket(base, `GET /users/1/tasks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Length: 1\r\n\r\n{`))
    console.log("GETBODY-ka", yield* rawSocket(base, `GET /users/1/tasks HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1\r\n\r\n{`))
    console.log("CONNECT", yield* rawSocket(base, `CONNECT /users/1/tasks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`))
    console.log("CONNECT2", yield* rawSocket(base, `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`))
    console.log("UPGRADE", yield* rawSocket(base, `GET /users/1/tasks HTTP/1.1\r\nHost: ${host}\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n`))
  }), 60000)
