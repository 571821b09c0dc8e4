import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { asTasks, serve } from "./support/http.ts"
import { repositories } from "./support/repositories.ts"
import { complete, create, header, list, remove, seed, strongTag, update, violation } from "./support/v2.ts"

/**
 * CONTRACT "Version 2: lists", black-box, on every repository: filters, pages, the `Link`
 * cursor, refusals of bad values, and the list's `ETag` with `If-None-Match`.
 */

/** The next page's target from a `Link: <…>; rel="next"`, checked to be exactly that shape. */
const nextOf = (link: string | undefined): URL | undefined => {
  if (link === undefined) return undefined
  const match = /^<([^>]+)>; rel="next"$/.exec(link)
  if (match === null) throw new Error(`not a single next link: ${link}`)
  return new URL(match[1]!, "http://127.0.0.1")
}

const ids = (tasks: ReadonlyArray<{ readonly id: number }>) => tasks.map((task) => task.id)

for (const [name, layer] of repositories) {
  describe(`lists (${name})`, () => {
    it.scopedLive("completed=true|false filters; order stays by id; the body is the plain array", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 7, 6)
        const done = yield* complete(base, [tasks[1]!, tasks[4]!])
        yield* seed(base, 8, 2)
        const open = yield* list(base, 7, "?completed=false")
        expect(open.status).toBe(200)
        expect(open.headers["content-type"]).toBe("application/json")
        expect(Array.isArray(open.json)).toBe(true)
        expect(ids(asTasks(open))).toEqual(ids([tasks[0]!, tasks[2]!, tasks[3]!, tasks[5]!]))
        const closed = yield* list(base, 7, "?completed=true")
        expect(asTasks(closed)).toEqual(done)
        expect(ids(asTasks(yield* list(base, 7)))).toEqual(ids(tasks))
        expect((yield* list(base, 9, "?completed=true")).json).toEqual([])
      }))

    it.scopedLive("limit bounds the page, after starts past an id, both with the filter", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 1, 5)
        yield* complete(base, [tasks[2]!])
        expect(ids(asTasks(yield* list(base, 1, "?limit=1")))).toEqual([tasks[0]!.id])
        expect(ids(asTasks(yield* list(base, 1, "?limit=100")))).toEqual(ids(tasks))
        expect(ids(asTasks(yield* list(base, 1, "?after=0")))).toEqual(ids(tasks))
        expect(ids(asTasks(yield* list(base, 1, `?after=${tasks[1]!.id}`)))).toEqual(ids(tasks.slice(2)))
        expect(ids(asTasks(yield* list(base, 1, `?after=${tasks[1]!.id}&limit=2`)))).toEqual(ids(tasks.slice(2, 4)))
        expect(ids(asTasks(yield* list(base, 1, `?completed=false&after=${tasks[1]!.id}&limit=2`)))).toEqual(
          ids([tasks[3]!, tasks[4]!])
        )
        expect((yield* list(base, 1, `?after=${tasks[4]!.id}`)).json).toEqual([])
        expect((yield* list(base, 1, "?after=2147483647&limit=100")).json).toEqual([])
      }))

    it.scopedLive("Link names the next page exactly, and following it reads every task once, in order", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 3, 7)
        const first = yield* list(base, 3, "?limit=3")
        const next = nextOf(header(first, "link"))!
        expect(next.pathname).toBe("/users/3/tasks")
        expect(Object.fromEntries(next.searchParams)).toEqual({ limit: "3", after: String(tasks[2]!.id) })
        const seen: Array<number> = []
        let query: string | undefined = "?limit=3"
        let pages = 0
        while (query !== undefined) {
          const page = yield* list(base, 3, query)
          expect(page.status).toBe(200)
          seen.push(...ids(asTasks(page)))
          const link = nextOf(header(page, "link"))
          query = link?.search
          pages++
        }
        expect(seen).toEqual(ids(tasks))
        expect(pages).toBe(3)
      }))

    it.scopedLive("Link keeps completed and limit; none on the last page, also when it ends exactly at the last task", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 4, 6)
        // Open: 0, 2, 4; completed: 1, 3, 5.
        yield* complete(base, [tasks[1]!, tasks[3]!, tasks[5]!])
        const page = yield* list(base, 4, "?completed=true&limit=2&unknown=1")
        expect(ids(asTasks(page))).toEqual([tasks[1]!.id, tasks[3]!.id])
        const next = nextOf(header(page, "link"))!
        expect(next.pathname).toBe("/users/4/tasks")
        expect(next.searchParams.get("limit")).toBe("2")
        expect(next.searchParams.get("completed")).toBe("true")
        expect(next.searchParams.get("after")).toBe(String(tasks[3]!.id))
        const last = yield* list(base, 4, next.search)
        expect(ids(asTasks(last))).toEqual([tasks[5]!.id])
        expect(last.headers["link"]).toBeUndefined()
        // Exactly at the last task: a full page, nothing after it.
        expect((yield* list(base, 4, "?limit=6")).headers["link"]).toBeUndefined()
        expect((yield* list(base, 4, `?limit=2&after=${tasks[3]!.id}`)).headers["link"]).toBeUndefined()
        // The last open task (4) is followed by a completed one (5): no next open page.
        const open = yield* list(base, 4, "?completed=false&limit=3")
        expect(ids(asTasks(open))).toEqual([tasks[0]!.id, tasks[2]!.id, tasks[4]!.id])
        expect(open.headers["link"]).toBeUndefined()
        // Without limit there is never a Link.
        expect((yield* list(base, 4)).headers["link"]).toBeUndefined()
      }))

    it.scopedLive("bad values are a 400 naming the parameter (type or range); unknown ones are ignored", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        yield* seed(base, 2, 2)
        const cases: ReadonlyArray<readonly [string, string, string]> = [
          ["?completed=yes", "completed", "type"],
          ["?completed=1", "completed", "type"],
          ["?completed=TRUE", "completed", "type"],
          ["?completed=", "completed", "type"],
          ["?limit=0", "limit", "range"],
          ["?limit=101", "limit", "range"],
          ["?limit=-1", "limit", "range"],
          ["?limit=99999999999999999999", "limit", "range"],
          ["?limit=abc", "limit", "type"],
          ["?limit=1.5", "limit", "type"],
          ["?limit=1e2", "limit", "type"],
          ["?limit=", "limit", "type"],
          ["?limit=1&limit=2", "limit", "type"],
          ["?after=1&after=2", "after", "type"],
          ["?completed=true&completed=false", "completed", "type"],
          ["?after=-1", "after", "range"],
          ["?after=2147483648", "after", "range"],
          ["?after=x", "after", "type"],
          ["?after=%00", "after", "type"],
          ["?after=1%20OR%201=1", "after", "type"]
        ]
        for (const [query, field, constraint] of cases) {
          const answer = yield* list(base, 2, query)
          expect({ query, ...violation(answer) }).toMatchObject({ query, status: 400, code: "VALIDATION_ERROR", field, constraint })
          expect(answer.headers["cache-control"]).toBe("no-store")
        }
        const range = violation(yield* list(base, 2, "?limit=101"))
        expect(range).toMatchObject({ min: 1, max: 100 })
        expect(violation(yield* list(base, 2, "?after=-1"))).toMatchObject({ min: 0, max: 2147483647 })
        // Unknown parameters change nothing.
        const plain = yield* list(base, 2, "?limit=1")
        const extra = yield* list(base, 2, "?foo=bar&limit=1&sort=desc&user_id=1&offset=5")
        expect(extra.status).toBe(200)
        expect(extra.text).toBe(plain.text)
        expect(extra.headers["etag"]).toBe(plain.headers["etag"])
      }))

    it.scopedLive("the list ETag is strong, stable while nothing changes, and changes on add, change and delete", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const [a, b] = yield* seed(base, 5, 2)
        const tagOf = (query = "") => Effect.map(list(base, 5, query), (answer) => header(answer, "etag")!)
        const initial = yield* tagOf()
        expect(initial).toMatch(strongTag)
        expect(yield* tagOf()).toBe(initial)
        // Another user's change is not a change of this list.
        yield* seed(base, 6, 1)
        expect(yield* tagOf()).toBe(initial)
        // A PUT that changes nothing leaves the list as it was.
        expect((yield* update(base, 5, a!.id, { title: a!.title })).status).toBe(200)
        expect(yield* tagOf()).toBe(initial)
        expect((yield* update(base, 5, a!.id, { completed: true })).status).toBe(200)
        const changed = yield* tagOf()
        expect(changed).not.toBe(initial)
        const [c] = yield* seed(base, 5, 1)
        const added = yield* tagOf()
        expect([initial, changed]).not.toContain(added)
        expect((yield* remove(base, 5, c!.id)).status).toBe(200)
        // Back to the content it had before the add: the tag need only differ from the added state's.
        expect(yield* tagOf()).not.toBe(added)
        // A page's tag follows the page: a change outside it leaves it, a change in it moves it.
        const page = yield* tagOf("?limit=1")
        expect(page).toMatch(strongTag)
        expect((yield* update(base, 5, b!.id, { title: "b changed" })).status).toBe(200)
        expect(yield* tagOf("?limit=1")).toBe(page)
        expect((yield* update(base, 5, a!.id, { title: "a changed" })).status).toBe(200)
        expect(yield* tagOf("?limit=1")).not.toBe(page)
      }))

    it.scopedLive("If-None-Match with the list's current tag is a 304 without a body; a stale one a 200", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const [a] = yield* seed(base, 5, 3)
        for (const query of ["", "?limit=2", "?completed=false&limit=1&after=0"]) {
          const first = yield* list(base, 5, query)
          const tag = header(first, "etag")!
          const again = yield* list(base, 5, query, { "if-none-match": tag })
          expect({ query, status: again.status, text: again.text }).toEqual({ query, status: 304, text: "" })
          expect(again.headers["etag"]).toBe(tag)
          expect(again.headers["cache-control"]).toBe("private, no-cache")
          // Weak comparison, and any member of a list of tags.
          expect((yield* list(base, 5, query, { "if-none-match": `W/${tag}` })).status).toBe(304)
          expect((yield* list(base, 5, query, { "if-none-match": `"other", ${tag}` })).status).toBe(304)
          expect((yield* list(base, 5, query, { "if-none-match": "\"other\"" })).status).toBe(200)
        }
        const before = header(yield* list(base, 5), "etag")!
        yield* update(base, 5, a!.id, { completed: true })
        const after = yield* list(base, 5, "", { "if-none-match": before })
        expect(after.status).toBe(200)
        expect(asTasks(after)[0]!.completed).toBe(true)
      }))

    it.scopedLive("a list without limit longer than a repository page (100) is complete, valid and tagged", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        const tasks = yield* seed(base, 11, 230)
        yield* complete(base, tasks.slice(0, 5))
        yield* seed(base, 12, 3)
        const all = yield* list(base, 11)
        expect(all.status).toBe(200)
        const listed = asTasks(all)
        expect(ids(listed)).toEqual(ids(tasks))
        expect(listed.every((task) => task.user_id === 11)).toBe(true)
        const tag = header(all, "etag")!
        expect(tag).toMatch(strongTag)
        expect((yield* list(base, 11, "", { "if-none-match": tag })).status).toBe(304)
        const open = yield* list(base, 11, "?completed=false")
        expect(ids(asTasks(open))).toEqual(ids(tasks.slice(5)))
        // A change anywhere in the long list, beyond its first 200, moves its tag.
        expect((yield* update(base, 11, tasks[225]!.id, { title: "late change" })).status).toBe(200)
        const changed = yield* list(base, 11, "", { "if-none-match": tag })
        expect(changed.status).toBe(200)
        expect(asTasks(changed)[225]!.title).toBe("late change")
      }))

    it.scopedLive("a user with no tasks, and a tasks path of another user, list nothing of anyone else", () =>
      Effect.gen(function*() {
        const base = yield* serve(layer)
        yield* create(base, 1, { title: "one's" })
        const empty = yield* list(base, 2, "?limit=5&completed=false")
        expect(empty.status).toBe(200)
        expect(empty.json).toEqual([])
        expect(empty.headers["link"]).toBeUndefined()
        expect(header(empty, "etag")).toMatch(strongTag)
      }))
  })
}
