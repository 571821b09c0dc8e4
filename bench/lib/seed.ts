import { writeFile } from "node:fs/promises"
import { performance } from "node:perf_hooks"

/**
 * User ids a target uses in one round. Every round seeds users it has never used, and creates
 * go to users of their own, so a seeded user's list is always exactly its seeded tasks however
 * many rows earlier scenarios and rounds added.
 */
export interface UserRanges {
  readonly seedFirst: number
  readonly seedCount: number
  readonly createFirst: number
  readonly createCount: number
  /** Users with 200 tasks each, for list-page (seeded only when it runs). */
  readonly pageFirst: number
  readonly probeUser: number
}

export const userRanges = (userBase: number, targetIndex: number, round: number, users: number): UserRanges => {
  const base = userBase + 100_000 * (targetIndex + 1) + 1000 * round
  return { seedFirst: base + 1, seedCount: users, createFirst: base + 501, createCount: 100, pageFirst: base + 601, probeUser: base + 999 }
}

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

const call = async (baseUrl: string, method: string, path: string, body?: string): Promise<Answer> => {
  const response = await fetch(baseUrl + path, {
    method,
    signal: AbortSignal.timeout(10_000),
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } })
  })
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: await response.text() }
}

const idOf = (answer: Answer): number => {
  const parsed: unknown = JSON.parse(answer.body)
  if (typeof parsed === "object" && parsed !== null && "id" in parsed && typeof parsed.id === "number") return parsed.id
  throw new Error(`no task id in ${answer.body}`)
}

export interface Seeded {
  readonly file: string
  readonly tasks: number
  readonly ms: number
}

/** Creates users × tasks through the API, CONCURRENCY at a time, and writes the wrk seed file. */
export const seed = async (
  baseUrl: string, users: { readonly first: number; readonly count: number }, tasksPerUser: number, file: string
): Promise<Seeded> => {
  const CONCURRENCY = 16
  const started = performance.now()
  const jobs: Array<{ user: number; n: number }> = []
  for (let u = 0; u < users.count; u++) {
    for (let n = 1; n <= tasksPerUser; n++) jobs.push({ user: users.first + u, n })
  }
  const ids = new Map<number, Array<number>>()
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      if (job === undefined) return
      // A realistic mix: most tasks described, some with a null description.
      const description = job.n % 4 === 0 ? null : `Seeded by the benchmark: task ${job.n} of user ${job.user}`
      const body = JSON.stringify({ title: `Task ${job.n}`, description })
      const answer = await call(baseUrl, "POST", `/users/${job.user}/tasks`, body)
      if (answer.status !== 201) throw new Error(`seeding: POST answered ${answer.status}: ${answer.body}`)
      const list = ids.get(job.user) ?? []
      list.push(idOf(answer))
      ids.set(job.user, list)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const lines = [...ids.entries()].map(([user, tasks]) => [user, ...tasks.sort((a, b) => a - b)].join(" "))
  await writeFile(file, lines.join("\n") + "\n")
  const check = await call(baseUrl, "GET", `/users/${users.first}/tasks`)
  const listed: unknown = JSON.parse(check.body)
  if (check.status !== 200 || !Array.isArray(listed) || listed.length !== tasksPerUser) {
    throw new Error(`seeding: the first user's list is not its ${tasksPerUser} tasks: ${check.status} ${check.body.slice(0, 200)}`)
  }
  return { file, tasks: jobs.length, ms: performance.now() - started }
}

export interface Probe {
  readonly name: string
  readonly status: number
  readonly contentType: string
  /** The body with ids and timestamps blanked, so two targets' answers can be compared byte for byte. */
  readonly body: string
}

const normalize = (body: string): string =>
  body
    .replace(/"(id|user_id)":\d+/g, '"$1":0')
    .replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/g, '"<timestamp>"')

/** A fixed conversation on a user of its own: every status the contract names, once. */
export const probeWire = async (baseUrl: string, user: number): Promise<ReadonlyArray<Probe>> => {
  const probes: Array<Probe> = []
  const ask = async (name: string, method: string, path: string, body?: string) => {
    const answer = await call(baseUrl, method, path, body)
    probes.push({ name, status: answer.status, contentType: answer.contentType, body: normalize(answer.body) })
    return answer
  }
  const tasks = `/users/${user}/tasks`
  const created = await ask("create", "POST", tasks, '{"title":"Probe \\"quoted\\" <b>🥛</b>","description":null}')
  const one = `${tasks}/${created.status === 201 ? idOf(created) : 1}`
  await ask("get", "GET", one)
  await ask("list", "GET", tasks)
  await ask("update completed", "PUT", one, '{"completed":true}')
  await ask("update description", "PUT", one, '{"description":"line\\nbreak ünïcödé"}')
  await ask("update nothing", "PUT", one, "{}")
  await ask("get, other owner", "GET", `/users/${user + 1}/tasks/${one.split("/").pop()}`)
  await ask("delete", "DELETE", one)
  await ask("get deleted", "GET", one)
  await ask("list empty", "GET", tasks)
  await ask("create blank title", "POST", tasks, '{"title":"   "}')
  await ask("create no title", "POST", tasks, '{"description":"x"}')
  await ask("create long title", "POST", tasks, JSON.stringify({ title: "x".repeat(501) }))
  await ask("create bad json", "POST", tasks, '{"title":')
  await ask("create array body", "POST", tasks, "[]")
  await ask("update completed null", "PUT", one, '{"completed":null}')
  await ask("update title number", "PUT", one, '{"title":5}')
  await ask("user id abc", "GET", "/users/abc/tasks")
  await ask("user id 0", "GET", "/users/0/tasks")
  await ask("task id too big", "GET", `${tasks}/99999999999`)
  await ask("method not allowed", "PATCH", one, "{}")
  await ask("unknown route", "GET", "/nope")
  await ask("health", "GET", "/health")
  return probes
}
