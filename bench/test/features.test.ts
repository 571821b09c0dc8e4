import { afterEach, describe, expect, it } from "@effect/vitest"
import { createHmac } from "node:crypto"
import * as http from "node:http"
import { checkAuth, checkConditional, checkIdempotency, checkPaging, signToken } from "../lib/features.ts"

/**
 * The checks that decide whether a version 2 scenario runs or is skipped, against small
 * servers that have the feature and servers that lack it (version 1 answers).
 */
type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void

const servers: Array<http.Server> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

const serve = async (handler: Handler): Promise<string> => {
  const server = http.createServer((req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
    req.on("end", () => handler(req, body, res))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("not listening on TCP")
  return `http://127.0.0.1:${address.port}`
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}
const task = (id: number) => ({ id, title: "t", description: null, completed: false, user_id: 1 })
const version1: Handler = (req, _body, res) =>
  json(res, req.method === "POST" ? 201 : 200, req.url?.includes("/tasks/") || req.method === "POST" ? task(Math.random()) : Array.from({ length: 200 }, (_, i) => task(i)))

const secret = "s".repeat(40)

describe("signToken", () => {
  it("makes an HS256 JWT whose signature verifies and whose sub is the user id as a string, valid for an hour", () => {
    const [header, payload, signature] = signToken(secret, 42, 1_000_000).split(".")
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" })
    expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toEqual({ sub: "42", iat: 1_000_000, exp: 1_003_600 })
    expect(signature).toBe(createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url"))
  })
})

describe("feature checks", () => {
  it("skip every version 2 scenario on a version 1 service, saying why", async () => {
    const url = await serve(version1)
    expect(await checkAuth(url, secret, 1, 1)).toMatch(/does not enforce AUTH_JWT_SECRET/)
    expect(await checkPaging(url, 1)).toMatch(/ignores \?limit/)
    expect(await checkIdempotency(url, 1)).toMatch(/ignores Idempotency-Key/)
    expect(await checkConditional(url, 1, 1)).toMatch(/no ETag/)
  })

  it("let each scenario run on a service that has its feature", async () => {
    const stored = new Map<string, string>()
    const url = await serve((req, body, res) => {
      if (req.url?.endsWith("?limit=20")) return json(res, 200, Array.from({ length: 20 }, (_, i) => task(i)), { link: '</users/1/tasks?limit=20&after=19>; rel="next"' })
      if (req.method === "POST") {
        const key = String(req.headers["idempotency-key"])
        const answer = stored.get(key) ?? JSON.stringify(task(stored.size + 1))
        stored.set(key, answer)
        res.writeHead(201, { "content-type": "application/json" })
        return res.end(answer)
      }
      if (req.method === "PUT") return json(res, req.headers["if-match"] === '"v1"' ? 200 : 412, body === "{}" ? {} : task(1))
      return json(res, 200, task(1), { etag: '"v1"', "x-request-id": String(req.headers["x-request-id"]) })
    })
    expect(await checkPaging(url, 1)).toBeUndefined()
    expect(await checkIdempotency(url, 1)).toBeUndefined()
    expect(await checkConditional(url, 1, 1)).toBeUndefined()
  })

  it("run get-auth when a request needs its owner's token", async () => {
    const url = await serve((req, _body, res) => {
      const token = req.headers.authorization?.replace(/^Bearer /, "")
      if (token === undefined) return json(res, 401, {})
      const [header, payload, signature] = token.split(".")
      const valid = signature === createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url")
      return valid ? json(res, 200, task(1)) : json(res, 401, {})
    })
    expect(await checkAuth(url, secret, 1, 1)).toBeUndefined()
  })

  it("skip get-auth when the service refuses the runner's tokens (another secret, say)", async () => {
    const url = await serve((_req, _body, res) => json(res, 401, {}))
    expect(await checkAuth(url, secret, 1, 1)).toMatch(/was not accepted: 401/)
  })
})
