import { Effect, type Scope } from "effect"
import * as Net from "node:net"

/**
 * A TCP proxy on 127.0.0.1 that can fail on demand, to put between the service and
 * PostgreSQL: `down()` resets every connection and refuses new ones, `blackhole()`
 * keeps accepting but forwards nothing (a database that stopped answering), `up()`
 * forwards again.
 */
export interface FaultyProxy {
  readonly port: number
  readonly up: () => Promise<void>
  readonly down: () => Promise<void>
  readonly blackhole: () => void
}

export const faultyProxy = (target: { readonly host: string; readonly port: number }): Effect.Effect<
  FaultyProxy,
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const sockets = new Set<Net.Socket>()
      let forwarding = true
      const server = Net.createServer((client) => {
        sockets.add(client)
        client.on("close", () => sockets.delete(client))
        client.on("error", () => client.destroy())
        if (!forwarding) return
        const upstream = Net.connect(target.port, target.host)
        sockets.add(upstream)
        upstream.on("close", () => {
          sockets.delete(upstream)
          client.destroy()
        })
        upstream.on("error", () => client.destroy())
        client.on("close", () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
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
      }
      return {
        port,
        up: async () => {
          forwarding = true
          if (!server.listening) await listen(port)
        },
        down: () =>
          new Promise<void>((resolve) => {
            resetAll()
            server.close(() => resolve())
          }),
        blackhole: () => {
          forwarding = false
          resetAll()
        }
      }
    }),
    (proxy) => Effect.promise(() => proxy.down())
  )
