import * as Pg from "pg"

/**
 * How long a pooled connection may leave a query unanswered before it is closed: the
 * client-side guard against a PostgreSQL (or a network) that stopped answering, so that a
 * request fails with a 500 instead of waiting for TCP to notice.
 *
 * Why not node-postgres' own `query_timeout`: it arms a timer per query and wraps the query's
 * callback in a closure of its own, and such closures kept answered requests reachable through
 * young-generation collections (the closure alone, without the timer, did). Under list load on
 * Node 26 the service promoted ~1.3 MB per scavenge with it and ~0.45 MB without, with 29
 * against 12 full collections in 8 s. This guard is one interval per pool that reads, for each
 * connection with queries outstanding, how long it has gone without an answer.
 *
 * A connection past the limit is closed, not reused: every query on it fails (node-postgres
 * reports the closed socket to each), the pool drops it, and the next query opens a new one.
 * A statement PostgreSQL was still running is cancelled by PostgreSQL's own `statement_timeout`
 * (the role's, see Database.ts), which is shorter than this limit.
 */
export class QueryWatchdog {
  private readonly waiting = new Set<WatchedClient>()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(readonly limitMillis: number) {}

  /** Starts checking, about ten times per limit (at least every 50 ms, at most every second). */
  start(): void {
    if (this.timer !== undefined) return
    const every = Math.min(1000, Math.max(50, Math.floor(this.limitMillis / 10)))
    this.timer = setInterval(() => this.check(performance.now()), every)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Closes every connection whose oldest outstanding query has waited past the limit. */
  check(now: number): void {
    for (const client of this.waiting) {
      if (now - client.waitingSince > this.limitMillis) {
        this.waiting.delete(client)
        client.abandon(this.limitMillis)
      }
    }
  }

  /** @internal */
  waits(client: WatchedClient): void {
    this.waiting.add(client)
  }

  /** @internal */
  answered(client: WatchedClient): void {
    this.waiting.delete(client)
  }
}

/** The pool option that hands every connection its pool's watchdog. */
export interface WatchedConfig extends Pg.ClientConfig {
  readonly watchdog?: QueryWatchdog
}

/**
 * A node-postgres client whose queries its pool's `QueryWatchdog` watches. Queries on one
 * connection are answered in order, so the connection has waited since its oldest outstanding
 * query was sent or, once another query was answered meanwhile, since that answer.
 */
export class WatchedClient extends Pg.Client {
  private readonly watchdog: QueryWatchdog | undefined
  private outstanding = 0
  /** `performance.now()` of the last progress while queries are outstanding. */
  waitingSince = 0

  constructor(config?: string | WatchedConfig) {
    super(config)
    this.watchdog = typeof config === "object" ? config.watchdog : undefined
  }

  /** Closes the connection: node-postgres fails each of its queries with this error. */
  abandon(limitMillis: number): void {
    this.connection.stream.destroy(new Error(`Query read timeout: no answer from PostgreSQL in ${limitMillis} ms`))
  }

  /** Noted by `query` as a query is handed to node-postgres. */
  querySent(): void {
    if (this.watchdog === undefined) return
    if (this.outstanding++ === 0) {
      this.waitingSince = performance.now()
      this.watchdog.waits(this)
    }
  }

  /** Noted when a query's callback runs, with its answer or its error. */
  queryAnswered(): void {
    if (this.watchdog === undefined) return
    if (--this.outstanding === 0) this.watchdog.answered(this)
    else this.waitingSince = performance.now()
  }
}

const baseQuery = Pg.Client.prototype.query

type Callback = (error: unknown, result: unknown) => void


/**
 * The callback of every watched query. node-postgres calls a query's callback as its method,
 * so one function serves them all: a closure per query (wrapping the caller's callback) kept
 * answered requests reachable through young-generation collections as node-postgres' own
 * `query_timeout` did (~1.1 MB promoted per scavenge against ~0.45 MB, list load, Node 26).
 */
function answered(this: WatchedQuery, error: unknown, result: unknown): void {
  const client = this.watchedBy
  const callback = this.answer
  this.watchedBy = undefined
  this.answer = undefined
  client?.queryAnswered()
  callback?.(error, result)
}

/** A node-postgres query that carries its caller's callback, answered through `answered`. */
class WatchedQuery extends Pg.Query {
  readonly callback = answered
  constructor(
    config: string | Pg.QueryConfig,
    values: Array<unknown> | undefined,
    public watchedBy: WatchedClient | undefined,
    public answer: Callback | undefined
  ) {
    super(config, values)
  }
}

const isQueryConfig = (config: unknown): config is Pg.QueryConfig =>
  typeof config === "object" && config !== null && "text" in config && typeof config.text === "string"

/** node-postgres calls a query's callback with (error) or (null, result), whatever it was given. */
const isCallback = (callback: unknown): callback is Callback => typeof callback === "function"

const isSubmittable = (config: unknown): boolean =>
  typeof config === "object" && config !== null && "submit" in config && typeof config.submit === "function"

/**
 * `query` watched. The callback form (what @effect/sql-pg and the pool use) becomes a query
 * object that carries the caller's callback and answers through `answered`; the promise form is
 * noted when its promise settles. A submittable (a cursor, read at its consumer's pace) is not
 * watched; anything else node-postgres would refuse goes to it unchanged.
 */
function watchedQuery(this: WatchedClient, ...args: Array<unknown>): unknown {
  const [config, second, third] = args
  if (isSubmittable(config)) return Reflect.apply(baseQuery, this, args)
  const callback = isCallback(third) ? third : isCallback(second) ? second : undefined
  if (callback === undefined) {
    this.querySent()
    try {
      const result: unknown = Reflect.apply(baseQuery, this, args)
      if (result instanceof Promise) return result.finally(() => this.queryAnswered())
      this.queryAnswered()
      return result
    } catch (error) {
      this.queryAnswered()
      throw error
    }
  }
  if (typeof config !== "string" && !isQueryConfig(config)) return Reflect.apply(baseQuery, this, args)
  const values = Array.isArray(second) ? second : undefined
  const query = new WatchedQuery(config, values, this, callback)
  this.querySent()
  try {
    return Reflect.apply(baseQuery, this, [query])
  } catch (error) {
    // Refused before it was sent (node-postgres throws on a bad argument): nothing to wait for.
    query.watchedBy = undefined
    query.answer = undefined
    this.queryAnswered()
    throw error
  }
}

// On the prototype rather than as an override: `query` has a dozen overloads, all of which
// this forwards unchanged but for noting when the query was sent and answered.
Object.defineProperty(WatchedClient.prototype, "query", { value: watchedQuery, writable: true, configurable: true })
