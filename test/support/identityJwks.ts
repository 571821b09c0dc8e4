/**
 * A JSON Web Key Set served on 127.0.0.1 for the identity tests, with switches for what an
 * identity provider can do: rotate keys, go down (500), or hang without answering.
 */
import { Effect, type Scope } from "effect"
import * as Jose from "jose"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

export type JwksMode = "up" | "error" | "hang"

export interface JwksServer {
  url: URL
  readonly keys: Array<Jose.JWK>
  mode: JwksMode
  /** Requests served so far, whatever the mode. */
  fetches: number
}

export const jwksServer: Effect.Effect<JwksServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ server: Http.Server; state: JwksServer }>((resolve) => {
      const hanging = new Set<Http.ServerResponse>()
      const state: JwksServer = { url: new URL("http://127.0.0.1/"), keys: [], mode: "up", fetches: 0 }
      const server = Http.createServer((_request, response) => {
        state.fetches++
        if (state.mode === "hang") {
          hanging.add(response)
          return
        }
        if (state.mode === "error") {
          response.writeHead(500).end("down")
          return
        }
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: state.keys }))
      })
      server.on("close", () => hanging.forEach((response) => response.destroy()))
      server.listen(0, "127.0.0.1", () => {
        state.url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`)
        resolve({ server, state })
      })
    })
  ),
  ({ server }) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    )
).pipe(Effect.map(({ state }) => state))

export interface SigningKey {
  readonly kid: string
  readonly alg: string
  readonly privateKey: Jose.CryptoKey
  readonly publicKey: Jose.CryptoKey
  readonly publicJwk: Jose.JWK
}

export const signingKey = (alg: "RS256" | "PS256" | "ES256" | "EdDSA", kid: string): Effect.Effect<SigningKey> =>
  Effect.promise(async () => {
    const { privateKey, publicKey } = await Jose.generateKeyPair(alg, { extractable: true })
    const publicJwk = { ...(await Jose.exportJWK(publicKey)), kid, alg, use: "sig" }
    return { kid, alg, privateKey, publicKey, publicJwk }
  })

export interface Claims {
  readonly [claim: string]: unknown
}

const now = () => Math.floor(Date.now() / 1000)

/** A token with `exp` an hour away unless the claims say otherwise. */
export const signWith = (key: SigningKey, claims: Claims, header: Partial<Jose.JWTHeaderParameters> = {}) =>
  Effect.promise(() =>
    new Jose.SignJWT({ exp: now() + 3600, ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
      .sign(key.privateKey)
  )

export const signHmac = (secret: string | Uint8Array, claims: Claims, alg: "HS256" | "HS384" | "HS512" = "HS256") =>
  Effect.promise(() =>
    new Jose.SignJWT({ exp: now() + 3600, ...claims }).setProtectedHeader({ alg })
      .sign(typeof secret === "string" ? new TextEncoder().encode(secret) : secret)
  )

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** An unsecured JWT (RFC 7519 §6): `alg: none`, empty signature. */
export const unsecured = (claims: Claims): string =>
  `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ exp: now() + 3600, ...claims })}.`

export const secondsFromNow = (seconds: number) => now() + seconds
