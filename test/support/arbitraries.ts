import * as fc from "fast-check"
import { METHODS } from "node:http"

/**
 * fast-check arbitraries for hostile HTTP requests: random methods, paths, ids, bodies and
 * headers, built so that each request can be sent by `call` (test/support/http.ts) or
 * verbatim, and so that the test can tell which user a request is addressed to.
 */

// ---------------------------------------------------------------------------------------
// Text

/** SQL-, script- and template-looking text: what an injection bug would trip over. */
export const sqlLooking: ReadonlyArray<string> = [
  "'; DROP TABLE tasks; --",
  "1' OR '1'='1",
  "\" OR 1=1 --",
  "'); DELETE FROM tasks WHERE ('1'='1",
  "\\'; UPDATE tasks SET user_id = 4; --",
  "%' OR user_id <> 0 OR '",
  "$1",
  "$1::text",
  "$$; SELECT pg_sleep(10); $$",
  "E'\\x00'",
  "'||(SELECT title FROM tasks LIMIT 1)||'",
  "1; SELECT * FROM users --",
  "') ON CONFLICT DO NOTHING; --",
  "\\",
  "\\\\",
  "'",
  "''",
  "\"",
  "`",
  "NULL",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "{\"$ne\":null}",
  "<script>alert(1)</script>",
  "${jndi:ldap://127.0.0.1/x}",
  "{{7*7}}",
  "../../etc/passwd",
  "%00",
  "\\u0000",
  "\r\nSet-Cookie: x=y"
]

/** Code points and code units that break naive text handling. */
export const awkwardText: ReadonlyArray<string> = [
  "",
  " ",
  "\t\n\r\u000b\u000c",
  "\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000",
  "\u200b",
  "\u0000",
  "a\u0000b",
  "\u0000\u0000\u0000",
  "\ud800",
  "\udc00",
  "a\ud83d",
  "\ude00a",
  "\udfff\ud800",
  "\ud83d\ude00",
  "\ufeff",
  "\ufffe\uffff",
  "\ufffd",
  "\u202e\u2066",
  "e\u0301\u0301\u0301",
  "\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66",
  "\u{10ffff}",
  "\u{1f600}\u{1f600}",
  "\u0001\u001f\u007f\u0080\u009f",
  "é",
  "中文",
  "עברית",
  "\u0007\u0008"
]

/** Random text of several kinds: any UTF-16 code units (lone surrogates included), graphemes, ASCII. */
const randomText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary-ascii", maxLength: 40 }),
  fc.string({ maxLength: 40 })
)

/** Long text around the limits (500 / 5000 code points), in one repeated unit, sometimes spiked. */
const longText = fc.record({
  unit: fc.constantFrom("a", " ", "\u{1f600}", "é", "'", "\u0000", "\ud800", "\ud83d\udc69\u200d\ud83d\udc66", "x\u0301"),
  count: fc.oneof(
    fc.constantFrom(499, 500, 501, 4999, 5000, 5001),
    fc.integer({ min: 500, max: 6000 })
  ),
  spike: fc.option(fc.constantFrom(...sqlLooking, ...awkwardText), { nil: undefined }),
  at: fc.nat({ max: 6000 })
}).map(({ at, count, spike, unit }) => {
  const text = unit.repeat(count)
  if (spike === undefined) return text
  const cut = Math.min(at, text.length)
  return text.slice(0, cut) + spike + text.slice(cut)
})

/** Any hostile text: constants, random units, long text, and mixtures of them. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...sqlLooking) },
  { weight: 3, arbitrary: fc.constantFrom(...awkwardText) },
  { weight: 4, arbitrary: randomText },
  { weight: 2, arbitrary: longText },
  {
    weight: 3,
    arbitrary: fc.array(
      fc.oneof(fc.constantFrom(...sqlLooking), fc.constantFrom(...awkwardText), randomText),
      { minLength: 2, maxLength: 5 }
    ).map((parts) => parts.join(""))
  }
)

/** Text that is a valid title (1..500 code points, not blank, no NUL, well formed) yet hostile. */
export const validTitle: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...sqlLooking.filter((text) => text.trim() !== "")),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }),
  fc.constantFrom("\u{1f600}".repeat(500), "é".repeat(500), "x\u0301".repeat(250), "'".repeat(500)),
  fc.tuple(fc.constantFrom(...sqlLooking), fc.string({ unit: "grapheme", maxLength: 30 })).map(([a, b]) => `${a}${b}`)
).filter((text) => !text.includes("\u0000") && text.isWellFormed() && text.trim() !== "" &&
  /[^\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/.test(text) &&
  [...text].length <= 500)

/** A valid description (or null). */
export const validDescription: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constant(""),
  validTitle,
  fc.constantFrom("\u{1f600}".repeat(5000), "'; DROP TABLE tasks; --".repeat(200))
)

// ---------------------------------------------------------------------------------------
// Bodies

/** A value of any JSON-ish type for a field. */
const anyField: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, -1, 1.5, 1e308, -1e308, 2147483648, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom("true", "false", "1", "0", "") }
)

/**
 * A task-like object: any subset of title/description/completed with values of any type,
 * plus fields a client must never be able to set (some naming the victims).
 */
const taskLike = (victimUsers: ReadonlyArray<number>, victimTasks: ReadonlyArray<number>) =>
  fc.record({
    title: fc.oneof(anyField, validTitle),
    description: fc.oneof(anyField, validDescription),
    completed: fc.oneof(anyField, fc.boolean()),
    id: fc.oneof(fc.constantFrom(...victimTasks), anyField),
    user_id: fc.oneof(fc.constantFrom(...victimUsers), anyField),
    created_at: anyField,
    updated_at: anyField,
    owner: fc.constantFrom(...victimUsers)
  }, { requiredKeys: [] })

/** A body that decodes: a create or a (partial) update with hostile but storable text. */
export const validPayload = fc.record({
  title: validTitle,
  description: validDescription,
  completed: fc.boolean()
}, { requiredKeys: ["title"] })

/** Raw texts that are not JSON, or are JSON with a twist. */
const rawTexts = (victimUsers: ReadonlyArray<number>): ReadonlyArray<string> => [
  "",
  " ",
  "{",
  "}",
  "{\"title\":",
  "{\"title\":\"a\"",
  "{'title':'a'}",
  "{title:\"a\"}",
  "{\"title\":\"a\",}",
  "{\"title\":\"a\"}garbage",
  "{\"title\":\"a\"}{\"title\":\"b\"}",
  "\ufeff{\"title\":\"a\"}",
  "{\"title\":\"a\",\"title\":null}",
  "{\"title\":null,\"title\":\"a\"}",
  `{"title":"a","user_id":${victimUsers[0]},"user_id":${victimUsers[1]}}`,
  "{\"__proto__\":{\"title\":\"polluted\",\"completed\":true}}",
  "{\"title\":\"a\",\"__proto__\":{\"completed\":true}}",
  "{\"constructor\":{\"prototype\":{\"completed\":true}},\"title\":\"a\"}",
  "{\"title\":\"\\u0000\"}",
  "{\"title\":\"\\ud800\"}",
  "{\"title\":\"a\\udc00b\"}",
  "{\"title\":\"\\uDBFF\\uDFFF\"}",
  "{\"title\":\"a\",\"description\":\"\\u0000\"}",
  "{\"completed\":\"true\"}",
  "{\"completed\":1}",
  "{\"title\":1e999}",
  "{\"title\":\"a\",\"completed\":-0}",
  "NaN",
  "Infinity",
  "-0",
  "1e999",
  "null",
  "true",
  "[]",
  "[{\"title\":\"a\"}]",
  "\"title\"",
  "0",
  "title=a&description=b",
  "<task><title>a</title></task>",
  "\u0000",
  "[".repeat(100_000),
  `{"title":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
  `${"{\"a\":".repeat(20_000)}1${"}".repeat(20_000)}`,
  `{"title":"${"x".repeat(200_000)}"}`,
  `{"title":"a","description":"${"\\u0000".repeat(10_000)}"}`
]

/** Byte sequences that are not UTF-8 (overlong NUL, CESU surrogates, stray bytes). */
const invalidUtf8: ReadonlyArray<ReadonlyArray<number>> = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xfe, 0xfe, 0xff, 0xff]
]

export type Body = string | Uint8Array | undefined

export const body = (victimUsers: ReadonlyArray<number>, victimTasks: ReadonlyArray<number>): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 10, arbitrary: validPayload.map((value) => JSON.stringify(value)) },
    { weight: 8, arbitrary: taskLike(victimUsers, victimTasks).map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
    {
      weight: 2,
      arbitrary: fc.anything({ maxDepth: 2, withNullPrototype: true, withObjectString: true }).map((value) => {
        try {
          return JSON.stringify(value) ?? "undefined"
        } catch {
          return "{}"
        }
      })
    },
    { weight: 3, arbitrary: fc.constantFrom(...rawTexts(victimUsers)) },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...invalidUtf8), fc.constantFrom("title", "description")).map(([bytes, field]) =>
        Buffer.concat([
          Buffer.from(`{"${field === "title" ? "title\":\"a" : "title\":\"a\",\"description"}":"`),
          Buffer.from(bytes),
          Buffer.from("\"}")
        ])
      )
    },
    // Just over the 1 MiB limit: a 413.
    { weight: 1, arbitrary: fc.constant(`{"title":"${"y".repeat(1024 * 1024)}"}`) }
  )

// ---------------------------------------------------------------------------------------
// Methods

/** Methods the node:http client cannot send as an ordinary request (it waits for a tunnel). */
const unsendable = new Set(["CONNECT"])

export const method: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE") },
  { weight: 4, arbitrary: fc.constantFrom("PATCH", "OPTIONS", "HEAD") },
  { weight: 2, arbitrary: fc.constantFrom(...METHODS.filter((name) => !unsendable.has(name))) },
  {
    weight: 2,
    arbitrary: fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/).filter((token) =>
      !unsendable.has(token.toUpperCase())
    )
  }
)

// ---------------------------------------------------------------------------------------
// Ids and paths

/** Texts in an id position that are not a valid id (or are one in disguise). */
const idLookalikes: ReadonlyArray<string> = [
  "0", "-1", "-0", "00", "1.5", "1.0", "1e3", "1E3", "+1", " 1", "1 ", "0x10", "0b1", "0o7", "1_000",
  "abc", "NaN", "Infinity", "-Infinity", "null", "undefined", "true", "[]", "{}", "[1]", "1,2",
  "2147483648", "4294967297", "99999999999", "-2147483649", "9007199254740993", "1".repeat(400),
  "１", "٣", "߃", "¹", "Ⅻ",
  "%", "%%", "%2", "%zz", "%00", "%0a", "%20", "%2F", "%2f", "%5C", "%2e", "%2e%2e", "..", ".",
  "%ED%A0%80", "%ED%BF%BF", "%C0%80", "%FF", "%F0%9F%98%80", "%E2%80%AE", "%EF%BB%BF4",
  "1;DROP TABLE tasks", "1' OR '1'='1", "1%20OR%201=1", "1%27%20OR%20%271%27=%271", "'", "\"", "$1",
  "\u{1f600}", "é", "\u0000", "\ud800", "\u202e1"
]

export const hostileIdText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...idLookalikes) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{11,40}$/) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }) }
)

/** A request as generated: what to send, and how. */
export interface HostileRequest {
  readonly method: string
  readonly path: string
  /** `true`: the path goes on the wire verbatim; `false`: through `new URL` (what `call` does). */
  readonly verbatim: boolean
  readonly body: Body
  readonly headers: Readonly<Record<string, string>>
  /**
   * Set when the task id in the path is a task of a victim: the same request with a task
   * id that never exists, whose answer must be indistinguishable.
   */
  readonly twinPath: string | undefined
}

export interface Cast {
  /** The users whose tasks must never be touched: no request is addressed to them. */
  readonly victims: ReadonlyArray<number>
  readonly victimTasks: ReadonlyArray<number>
  /** The users that send the requests, with tasks of their own. */
  readonly attackers: ReadonlyArray<number>
  /** The tasks each attacker holds at the start. */
  readonly attackerTasks: ReadonlyMap<number, ReadonlyArray<number>>
  /** A task id that is never created (far above anything a run creates). */
  readonly missingTask: number
}

const MAX_ID = 2_147_483_647

/** The id a path segment names, by the contract's rule (decimal integer in 1..2^31-1), if any. */
export const idOf = (segment: string): number | undefined => {
  if (!/^-?[0-9]+$/.test(segment)) return undefined
  const value = Number(segment)
  return Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : undefined
}

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The path the server sees: verbatim up to `?`, or what `new URL` makes of it (as `call` sends it). */
export const pathOnWire = (path: string, verbatim: boolean): string =>
  verbatim ? path.split("?")[0]! : new URL(`http://127.0.0.1${path}`).pathname

export type Target =
  | { readonly kind: "tasks"; readonly user: number | undefined }
  | { readonly kind: "task"; readonly user: number | undefined; readonly task: number | undefined }
  | { readonly kind: "other"; readonly pathname: string }

/** Which endpoint shape a path is, and the ids it names, read the way the contract says. */
export const targetOf = (path: string, verbatim: boolean): Target => {
  const pathname = pathOnWire(path, verbatim)
  const parts = pathname.split("/").slice(1).map(decodeSegment)
  if (parts[0] === "users" && parts[2] === "tasks" && parts[1] !== "") {
    if (parts.length === 3) return { kind: "tasks", user: idOf(parts[1]!) }
    if (parts.length === 4 && parts[3] !== "") return { kind: "task", user: idOf(parts[1]!), task: idOf(parts[3]!) }
  }
  return { kind: "other", pathname }
}

/**
 * Percent-encodes what the node:http client refuses to put in a request line verbatim
 * (space, controls, anything above U+00FF); bytes 0x21..0xFF go on the wire as they are.
 */
export const sendable = (path: string): string => {
  let out = ""
  for (const char of path) {
    const code = char.codePointAt(0)!
    if (code >= 0x21 && code <= 0xff) out += char
    else out += [...Buffer.from(char, "utf8")].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("")
  }
  return out
}

/** Percent-encoded when it can be (a lone surrogate cannot), else as it is. */
const encoded = (text: string): string => {
  try {
    return encodeURIComponent(text)
  } catch {
    return text
  }
}

/** A value for a list parameter: valid ones, near misses, and anything an id position gets. */
const listValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("true", "false", "1", "2", "5", "20", "100", "0") },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_147_483_647 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom("TRUE", "False", "yes", "101", "-1", "2147483648", "", "1e2", "0x10") },
  { weight: 2, arbitrary: hostileIdText.map(encoded) },
  { weight: 1, arbitrary: hostileIdText }
)

/** `completed`, `limit` and `after` (CONTRACT: "Version 2: lists"), repeated or not, with others around. */
const listQuery = fc.array(
  fc.tuple(fc.constantFrom("completed", "limit", "after", "limit", "after", "offset", "Limit"), listValue),
  { minLength: 1, maxLength: 4 }
).map((pairs) => `?${pairs.map(([key, value]) => `${key}=${value}`).join("&")}`)

const query = fc.oneof(
  { weight: 6, arbitrary: fc.constant("") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("?", "?user_id=1", "?user_id=1&task_id=1", "?x=%00", "?'OR'1'='1", "#/../../1/tasks", "?a=\u{1f600}")
  },
  { weight: 3, arbitrary: listQuery }
)

/**
 * Idempotency keys that the victims' seeded creates used, each with `SHARED_BODY`: an attacker
 * sending the same key and body must create a task of its own, never get the victim's answer.
 */
export const SHARED_KEYS: ReadonlyArray<string> = ["shared-key-0", "shared-key-1", "shared-key-2"]
export const SHARED_BODY = JSON.stringify({ title: "a body the victims sent too" })

const printableAscii = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength })

/** An entity tag as clients send them, right or wrong: task-like, list-like, weak, listed, `*`, junk. */
const entityTag = fc.oneof(
  { weight: 2, arbitrary: fc.constant("*") },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 45n }).map((n) => `"t${n.toString(36)}"`) },
  { weight: 1, arbitrary: fc.stringMatching(/^"l[0-9a-z]{14}"$/) },
  { weight: 1, arbitrary: fc.constantFrom("W/\"t0\"", "W/*", "\"\"", "\"", "\"t\"", "\"tzzzzzzzzzzzzz\"", "\"t-1\"", "t1", "\"t1\" \"t2\"") },
  { weight: 2, arbitrary: printableAscii(40) }
)

const tagList = fc.array(entityTag, { minLength: 1, maxLength: 4 }).map((tags) => tags.join(", "))

/** A header in about a third of the requests. */
const sometimes = <A>(value: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value })

/** Idempotency keys: the victims', random valid ones, and malformed ones (empty, too long, non-ASCII, white space). */
const idempotencyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SHARED_KEYS) },
  { weight: 3, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/) },
  { weight: 2, arbitrary: fc.constantFrom("", "k".repeat(255), "k".repeat(256), "cl\u00e9", "a b", "a\tb", "\u00ff", "k".repeat(5000)) },
  { weight: 1, arbitrary: printableAscii(20) }
)

const randomPaths: ReadonlyArray<string> = [
  "/", "", "/users", "/users/", "/users/4", "/users/4/", "/users/4/tasks/", "/users/4/tasks//", "/users//tasks",
  "/users/4/tasks/1/", "/users/4/tasks/1/extra", "/users/4/tasks/1/tasks", "//users/4/tasks", "/users/4//tasks",
  "/USERS/4/TASKS", "/Users/4/Tasks/1", "/users/4/tasks;1", "/users/4/tasks%2F1", "/users%2F4%2Ftasks",
  "/users/4/tasks/../../1/tasks", "/users/4/tasks/%2e%2e/%2e%2e/1/tasks", "/users/4/./tasks", "/users/4/tasks/.",
  "/users/4/tasks\\1", "/users/4/tasks/1%3F", "/health", "/health/ready", "/health/", "/openapi.json", "/docs",
  "/docs/../users/1/tasks", "/tasks", "/tasks/1", "/users/*/tasks", "/*", "/users/4/tasks/*"
]

/** The five endpoints: a method and a path shape. */
const endpoints = [
  ["GET", "tasks"],
  ["POST", "tasks"],
  ["POST", "tasks"],
  ["GET", "task"],
  ["PUT", "task"],
  ["PUT", "task"],
  ["PUT", "task"],
  ["DELETE", "task"]
] as const

/**
 * Requests that attackers send. Most are calls of one of the five endpoints (so that writes
 * really happen), with hostile ids and bodies; the rest are any method on any path.
 */
export const hostileRequest = (cast: Cast): fc.Arbitrary<HostileRequest> => {
  const victimIds = new Set(cast.victims)
  const attacker = fc.constantFrom(...cast.attackers)
  const user = fc.oneof(
    { weight: 12, arbitrary: attacker.map((id) => ({ text: String(id), id: id as number | undefined })) },
    { weight: 1, arbitrary: attacker.map((id) => ({ text: `00${id}`, id: id as number | undefined })) },
    { weight: 4, arbitrary: hostileIdText.map((text) => ({ text, id: undefined as number | undefined })) }
  )
  const plain = (text: string) => ({ text, twin: undefined as string | undefined })
  // The task position: the user's own tasks, another attacker's, ids that tasks created on
  // the way get, the victims' tasks (with a twin request on a task id that never exists),
  // or anything else.
  const task = (owner: number | undefined) => {
    const own = owner === undefined ? [] : cast.attackerTasks.get(owner) ?? []
    const others = [...cast.attackerTasks.values()].flat()
    const highest = Math.max(...others)
    return fc.oneof(
      { weight: own.length > 0 ? 5 : 0, arbitrary: fc.constantFrom(...(own.length > 0 ? own : [0])).map((id) => plain(String(id))) },
      { weight: 1, arbitrary: fc.constantFrom(...others).map((id) => plain(String(id))) },
      { weight: 2, arbitrary: fc.integer({ min: highest + 1, max: highest + 200 }).map((id) => plain(String(id))) },
      {
        weight: 4,
        arbitrary: fc.tuple(fc.constantFrom(...cast.victimTasks), fc.constantFrom("", "", "0", "000")).map(([id, zeros]) => ({
          text: `${zeros}${id}`,
          twin: `${zeros}${cast.missingTask}` as string | undefined
        }))
      },
      { weight: 3, arbitrary: hostileIdText.map(plain) }
    )
  }
  const shape = (kind: "tasks" | "task") =>
    kind === "tasks"
      ? user.map((u) => ({ path: `/users/${u.text}/tasks`, twin: undefined as string | undefined }))
      : user.chain((u) =>
        task(u.id).map((t) => ({
          path: `/users/${u.text}/tasks/${t.text}`,
          twin: t.twin === undefined ? undefined : `/users/${u.text}/tasks/${t.twin}`
        }))
      )
  const anyPath = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("tasks" as const, "task" as const).chain(shape) },
    { weight: 2, arbitrary: fc.constantFrom(...randomPaths).map((path) => ({ path, twin: undefined as string | undefined })) },
    {
      weight: 1,
      arbitrary: fc.array(fc.oneof(hostileIdText, fc.constantFrom("users", "tasks", "4", "1", "", "..")), {
        maxLength: 6
      }).map((parts) => ({ path: `/${parts.join("/")}`, twin: undefined as string | undefined }))
    }
  )
  const call = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(...endpoints).chain(([method, kind]) => shape(kind).map((shaped) => ({ method: method as string, shaped })))
    },
    { weight: 1, arbitrary: fc.record({ method, shaped: anyPath }) }
  )
  const contentType = fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml"
  )
  const printable = printableAscii(40)
  const headers = fc.record({
    "content-type": contentType,
    "if-match": sometimes(tagList),
    "if-none-match": sometimes(tagList),
    "idempotency-key": sometimes(idempotencyKey),
    "x-request-id": fc.option(fc.oneof(printable, fc.constant("a".repeat(300))), { nil: undefined }),
    origin: fc.option(fc.oneof(printable, fc.constant("https://evil.example")), { nil: undefined }),
    accept: fc.option(fc.constantFrom("text/html", "application/xml", "*/*", "application/json;q=0"), { nil: undefined })
  }).map((record) => {
    const defined: Record<string, string> = {}
    for (const [name, value] of Object.entries(record)) if (value !== undefined) defined[name] = value
    return defined
  })

  return fc.record({
    call,
    query,
    verbatim: fc.boolean(),
    body: fc.oneof(
      { weight: 3, arbitrary: body(cast.victims, cast.victimTasks) },
      // Writes that succeed, so that PUT and POST really change the store while attacked.
      { weight: 1, arbitrary: validPayload.map((payload) => JSON.stringify(payload)) },
      { weight: 1, arbitrary: fc.constant(SHARED_BODY) }
    ),
    headers
  }).map(({ body, call: { method, shaped }, headers, query, verbatim }) => {
    const finish = (path: string) => (verbatim ? sendable(path + query) : path + query)
    return {
      method,
      path: finish(shaped.path),
      verbatim,
      body,
      headers,
      twinPath: shaped.twin === undefined ? undefined : finish(shaped.twin)
    }
  }).filter((request) => {
    // Never addressed to a victim: every change to a victim's task would then be a breach.
    const target = targetOf(request.path, request.verbatim)
    return target.kind === "other" || target.user === undefined || !victimIds.has(target.user)
  })
}
