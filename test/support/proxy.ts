import { Effect, type Scope } from "effect"
import * as Net from "node:net"

/**
 * A TCP proxy on 127.0.0.1 that can fail on demand, to put between the service and
 * PostgreSQL:
 * - `down()` resets every connection and refuses new ones (the server is gone);
 * - `blackhole()` resets every connection, then accepts new ones but never answers
 *   (a host that stopped responding);
 * - `stall()` keeps every connection open but forwards nothing either way (a frozen
 *   network: queries already sent never get their answer);
 * - `up()` forwards again, over the stalled connections too.
 */
export interface FaultyProxy {
  readonly port: number
  readonly up: () => Promise<void>
  readonly down: () => Promise<void>
  readonly blackhole: () => void
  readonly stall: () => void
}

interface Pair {
  readonly client: Net.Socket
  readonly upstream: Net.Socket
}

export const faultyProxy = (target: { readonly host: string; readonly port: number }): Effect.Effect<
  FaultyProxy,
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const sockets = new Set<Net.Socket>()
      const pairs = new Set<Pair>()
      let mode: "forward" | "blackhole" | "stall" = "forward"
      const connect = (pair: Pair) => {
        pair.client.pipe(pair.upstream)
        pair.upstream.pipe(pair.client)
      }
      const server = Net.createServer((client) => {
        sockets.add(client)
        client.on("close", () => sockets.delete(client))
        client.on("error", () => client.destroy())
        if (mode === "blackhole") return
        const upstream = Net.connect(target.port, target.host)
        sockets.add(upstream)
        const pair = { client, upstream }
        pairs.add(pair)
        upstream.on("close", () => {
          sockets.delete(upstream)
          pairs.delete(pair)
          client.destroy()
        })
        upstream.on("error", () => client.destroy())
        client.on("close", () => upstream.destroy())
        if (mode === "forward") connect(pair)
      })
      const listen = (port: number) =>
        new Promise<void>((resolve, reject) => {
          server.once("error", reject)
          server.listen(port, "127.0.0.1", () => {
            server.off("error", reject)
            resolve()
          })
        })
      await listen(0)
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const resetAll = () => {
        for (const socket of sockets) socket.resetAndDestroy()
        sockets.clear()
        pairs.clear()
      }
      return {
        port,
        up: async () => {
          if (mode === "stall") for (const pair of pairs) connect(pair)
          mode = "forward"
          if (!server.listening) await listen(port)
        },
        down: () =>
          new Promise<void>((resolve) => {
            resetAll()
            server.close(() => resolve())
          }),
        blackhole: () => {
          mode = "blackhole"
          resetAll()
        },
        stall: () => {
          mode = "stall"
          for (const { client, upstream } of pairs) {
            client.unpipe(upstream)
            upstream.unpipe(client)
            client.pause()
            upstream.pause()
          }
        }
      }
    }),
    (proxy) => Effect.promise(() => proxy.down())
  )
