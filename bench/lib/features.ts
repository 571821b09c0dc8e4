import { createHmac, randomBytes } from "node:crypto"
import { writeFile } from "node:fs/promises"

/**
 * The version 2 features the service-only scenarios load, and the checks that tell whether the
 * service under test has them: a scenario whose feature is missing is skipped with the reason,
 * rather than measuring version 1 under another name.
 */

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

const call = async (baseUrl: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> => {
  const response = await fetch(baseUrl + path, {
    method,
    signal: AbortSignal.timeout(10_000),
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body })
  })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url")

/** A fresh HMAC secret for one service process: 48 random bytes, above the contract's 32. */
export const newSecret = (): string => randomBytes(48).toString("base64url")

/** An HS256 JWT as the contract's sign-in issues it: `sub` the user id as a decimal string, an hour to live. */
export const signToken = (secret: string, userId: number, nowSeconds = Math.floor(Date.now() / 1000)): string => {
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))
  const payload = base64url(JSON.stringify({ sub: String(userId), iat: nowSeconds, exp: nowSeconds + 3600 }))
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url")
  return `${header}.${payload}.${signature}`
}

/** The wrk token file: one line per user, "<user_id> <token>". */
export const writeTokens = async (file: string, secret: string, first: number, count: number): Promise<void> => {
  const lines = Array.from({ length: count }, (_, i) => `${first + i} ${signToken(secret, first + i)}`)
  await writeFile(file, lines.join("\n") + "\n")
}

/** undefined when supported, else the reason to skip. */
export type Support = string | undefined

const briefly = (answer: Answer) => `${answer.status} ${answer.body.slice(0, 120)}`

/** get-auth: a request without a token must be refused (401), one with its owner's token served (200). */
export const checkAuth = async (baseUrl: string, secret: string, user: number, task: number): Promise<Support> => {
  const path = `/users/${user}/tasks/${task}`
  const anonymous = await call(baseUrl, "GET", path)
  if (anonymous.status !== 401) {
    return `the service does not enforce AUTH_JWT_SECRET (GET without a token answered ${anonymous.status}, not 401)`
  }
  const signed = await call(baseUrl, "GET", path, { authorization: `Bearer ${signToken(secret, user)}` })
  if (signed.status !== 200) return `a token signed with AUTH_JWT_SECRET was not accepted: ${briefly(signed)}`
  return undefined
}

/** list-page: `?limit=20` on a user with more tasks answers 20 of them and a `Link` to the next page. */
export const checkPaging = async (baseUrl: string, user: number): Promise<Support> => {
  const answer = await call(baseUrl, "GET", `/users/${user}/tasks?limit=20`)
  if (answer.status !== 200) return `GET ?limit=20 answered ${briefly(answer)}`
  const listed: unknown = JSON.parse(answer.body)
  const count = Array.isArray(listed) ? listed.length : -1
  if (count !== 20) return `the service ignores ?limit (GET ?limit=20 listed ${count} tasks)`
  if (!/rel="?next"?/.test(answer.headers.get("link") ?? "")) return "GET ?limit=20 on a longer list has no Link rel=\"next\""
  return undefined
}

/** create-idem: a repeat of a create with the same Idempotency-Key answers the same task and creates nothing. */
export const checkIdempotency = async (baseUrl: string, user: number): Promise<Support> => {
  const key = `bench-check-${randomBytes(8).toString("hex")}`
  const body = '{"title":"idempotency check","description":null}'
  const first = await call(baseUrl, "POST", `/users/${user}/tasks`, { "idempotency-key": key }, body)
  if (first.status !== 201) return `POST with an Idempotency-Key answered ${briefly(first)}`
  const again = await call(baseUrl, "POST", `/users/${user}/tasks`, { "idempotency-key": key }, body)
  if (again.body !== first.body) return "the service ignores Idempotency-Key (a repeat created another task)"
  return undefined
}

/**
 * update-if-match: a GET carries an ETag, a PUT with a stale If-Match is refused (412), and the
 * service echoes X-Request-Id, by which the wrk script tells a GET's answer from a PUT's.
 */
export const checkConditional = async (baseUrl: string, user: number, task: number): Promise<Support> => {
  const path = `/users/${user}/tasks/${task}`
  const got = await call(baseUrl, "GET", path, { "x-request-id": "bench-get" })
  if (got.status !== 200) return `GET ${path} answered ${briefly(got)}`
  if (got.headers.get("etag") === null) return "the service sends no ETag on a task"
  if (got.headers.get("x-request-id") !== "bench-get") return "the service does not echo X-Request-Id, which the wrk script pairs answers by"
  const stale = await call(baseUrl, "PUT", path, { "if-match": '"bench-stale-tag"' }, "{}")
  if (stale.status !== 412) return `the service ignores If-Match (a stale tag answered ${stale.status}, not 412)`
  return undefined
}
