import type * as SqlClient from "@effect/sql/SqlClient"
import { Chunk, Effect, Option, Schema, Stream } from "effect"
import { Task, type UserId } from "../domain/index.ts"
import { aggregateVersion, listVersion } from "../domain/Versions.ts"
import { decoder } from "../schema/Compile.ts"
import type { ListQuery, TaskList } from "./TaskRepository.ts"

/**
 * A list without a limit is read first with the other reads of its turn, this many tasks
 * (and one more, to learn whether it goes on); the rest only as the consumer pulls it, in
 * the pages below. 100 maximal tasks are ~2 MB of text in memory (5,000 emoji each); a
 * typical list fits in the first page.
 */
export const PAGE_SIZE = 100

/**
 * The pages after the first are bounded in rows and in bytes: at most REST_PAGE_SIZE tasks, and
 * no more once PAGE_BYTES of title and description are in (always at least one task). A page
 * of small tasks is one round trip for 50; a page of maximal ones (5,000-emoji descriptions,
 * ~22 KB a row) holds a dozen. Several long lists streamed at once each hold a page in memory
 * while the client reads: with 50 maximal rows a page, eight such lists took the service over
 * 300 MB of RSS on Node 26 (found by the 8 × 20,000-task test).
 */
export const REST_PAGE_SIZE = 50
export const PAGE_BYTES = 256 * 1024

export interface ListKey {
  readonly owner: UserId
  readonly completed: Option.Option<boolean>
  readonly after: number
  /** Rows to read: one more than wanted, to learn whether more match. */
  readonly fetch: number
}

const identity = (key: ListKey): string =>
  `${key.owner}:${Option.getOrElse(key.completed, () => "any")}:${key.after}:${key.fetch}`

const decodeTasks = decoder(Schema.Array(Schema.typeSchema(Task)))
const decodeQueryNumbers = decoder(Schema.Array(Schema.Struct({ n: Schema.Number })))
const decodeAggregate = decoder(Schema.Array(Schema.Struct({
  count: Schema.Number,
  max_id: Schema.Number,
  hash_sum: Schema.String
})))


/**
 * The lists of one turn as one statement: a `LATERAL` keyset scan per distinct query, on
 * `(user_id, id)` for any state and on `(user_id, completed, id)` for one state (the branch
 * that does not apply is cut by a one-time filter). Each query reads `fetch` rows at most.
 */
export const listStatement = `
  SELECT q.n::int AS n, task.id, task.title, task.description, task.completed, task.user_id,
    task.created_at, task.updated_at
  FROM unnest($1::int[], $2::int[], $3::bool[], $4::int[]) WITH ORDINALITY AS q (owner, after, completed, take, n)
  CROSS JOIN LATERAL (
    (SELECT * FROM tasks WHERE q.completed IS NULL AND tasks.user_id = q.owner AND tasks.id > q.after
     ORDER BY tasks.id LIMIT q.take)
    UNION ALL
    (SELECT * FROM tasks WHERE tasks.user_id = q.owner AND tasks.completed = q.completed AND tasks.id > q.after
     ORDER BY tasks.id LIMIT q.take)
  ) AS task
  ORDER BY q.n, task.id`

export const runLists = (sql: SqlClient.SqlClient, keys: ReadonlyArray<ListKey>) =>
  Effect.suspend(() => {
    const queries = new Map<string, ListKey>()
    for (const key of keys) queries.set(identity(key), key)
    const distinct = [...queries.values()]
    return sql.unsafe(listStatement, [
      distinct.map((key) => key.owner),
      distinct.map((key) => key.after),
      distinct.map((key) => Option.getOrNull(key.completed)),
      distinct.map((key) => key.fetch)
    ]).pipe(
      Effect.flatMap((rows) => Effect.all([decodeQueryNumbers(rows), decodeTasks(rows)])),
      Effect.map(([numbers, tasks]) => {
        const byQuery = distinct.map((): Array<Task> => [])
        tasks.forEach((task, i) => byQuery[numbers[i]!.n - 1]!.push(task))
        const answers = new Map(distinct.map((key, i) => [identity(key), byQuery[i]!]))
        return (key: ListKey): ReadonlyArray<Task> => answers.get(identity(key)) ?? []
      })
    )
  })

const completedFilter = (sql: SqlClient.SqlClient, completed: Option.Option<boolean>) =>
  Option.isSome(completed) ? sql`AND completed = ${completed.value}` : sql``

/**
 * One keyset page after `after`, outside any batch: pages of a long list are read one at a
 * time. A row is in the page when the rows before it hold less than PAGE_BYTES of text.
 */
const page = (sql: SqlClient.SqlClient, owner: UserId, completed: Option.Option<boolean>, after: number) =>
  sql`SELECT id, title, description, completed, user_id, created_at, updated_at FROM (
        SELECT *, sum(size) OVER (ORDER BY id) - size AS before
        FROM (SELECT *, octet_length(title) + coalesce(octet_length(description), 0) AS size FROM tasks WHERE user_id = ${owner} AND id > ${after} ${completedFilter(sql, completed)}
              ORDER BY id LIMIT ${REST_PAGE_SIZE}) AS candidates
      ) AS sized
      WHERE before < ${PAGE_BYTES} ORDER BY id`.pipe(Effect.flatMap(decodeTasks))

/** The version of a list too long to read first (see `aggregateVersion`), from one aggregate. */
const aggregate = (sql: SqlClient.SqlClient, owner: UserId, query: ListQuery) =>
  sql`SELECT count(*)::int AS count, coalesce(max(id), 0) AS max_id,
        coalesce(sum(hashtextextended(id || ':' || (extract(epoch FROM updated_at) * 1000)::bigint, 0)), 0)::text
          AS hash_sum
      FROM tasks WHERE user_id = ${owner} AND id > ${query.after} ${completedFilter(sql, query.completed)}`.pipe(
    Effect.flatMap(decodeAggregate),
    Effect.map(([row]) => aggregateVersion(row?.count ?? 0, row?.max_id ?? 0, row?.hash_sum ?? "0"))
  )

/**
 * A list from its first rows (`fetched`, read with `fetch` = limit + 1, or PAGE_SIZE + 1
 * without a limit). Without a limit, a list longer than one page gets its version from the
 * aggregate and the rest of its tasks as a stream of keyset pages, each read only when the
 * consumer pulls: no page is read ahead, and no connection is held between pages.
 */
export const toTaskList = (
  sql: SqlClient.SqlClient,
  owner: UserId,
  query: ListQuery,
  fetched: ReadonlyArray<Task>
): Effect.Effect<TaskList, unknown> => {
  if (Option.isSome(query.limit)) {
    const hasMore = fetched.length > query.limit.value
    const head = hasMore ? fetched.slice(0, query.limit.value) : fetched
    return Effect.succeed({ version: listVersion(head, hasMore), head, hasMore, rest: Option.none() })
  }
  if (fetched.length <= PAGE_SIZE) {
    return Effect.succeed({ version: listVersion(fetched), head: fetched, hasMore: false, rest: Option.none() })
  }
  const head = fetched.slice(0, PAGE_SIZE)
  const rest = Stream.paginateChunkEffect(head[head.length - 1]!.id as number, (after) =>
    page(sql, owner, query.completed, after).pipe(
      Effect.orDie,
      Effect.map((tasks) =>
        [
          Chunk.unsafeFromArray(tasks),
          // A short page may be cut by bytes: the list ends with an empty one.
          tasks.length === 0 ? Option.none() : Option.some(tasks[tasks.length - 1]!.id as number)
        ] as const
      )
    ))
  return Effect.map(aggregate(sql, owner, query), (version) => ({
    version,
    head,
    hasMore: false,
    rest: Option.some(rest)
  }))
}
