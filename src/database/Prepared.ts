import { WatchedClient } from "./QueryWatchdog.ts"

/**
 * A node-postgres client that runs statements with parameters as named (prepared) statements,
 * so that PostgreSQL plans each text once per connection instead of at every execution.
 *
 * Why: the service's statements are fixed texts with bound parameters (a batch's input is one
 * JSON parameter), and some are large: the create statement, with its idempotency keys and
 * row locks, took ~640 µs to plan and ~510 µs to run for a batch of four (measured on
 * PostgreSQL 15 here). Planned once, it costs less than version 1's much smaller INSERT did
 * unprepared.
 *
 * Bounded: at most `MAX_PREPARED` distinct texts are ever named (the service's statements are
 * a fixed set of shapes; a text beyond the cap simply runs unnamed). Statements without
 * parameters (`SELECT 1`, `SET …`) and anything that is not a plain text (cursors) go through
 * unchanged. Named statements need a session, or a pooler that keeps protocol-level prepared
 * statements (PgBouncer ≥ 1.21 with `max_prepared_statements`, Neon's pooled endpoints);
 * `DATABASE_PREPARED_STATEMENTS=false` turns this off for an older transaction-mode pooler.
 */
export const MAX_PREPARED = 200

const names = new Map<string, string>()

/** The name of a statement text, given on first use; `undefined` once the cap is reached. */
export const statementName = (text: string): string | undefined => {
  const known = names.get(text)
  if (known !== undefined || names.size >= MAX_PREPARED) return known
  const name = `task_api_${names.size + 1}`
  names.set(text, name)
  return name
}

const baseQuery = WatchedClient.prototype.query

/** `query(text, values, callback)` with `values` given becomes `query({ name, text, values }, callback)`. */
function preparedQuery(this: WatchedClient, ...args: Array<unknown>): unknown {
  const [text, values, ...rest] = args
  if (typeof text === "string" && Array.isArray(values) && values.length > 0) {
    const name = statementName(text)
    if (name !== undefined) return Reflect.apply(baseQuery, this, [{ name, text, values }, ...rest])
  }
  return Reflect.apply(baseQuery, this, args)
}

export class PreparingClient extends WatchedClient {}
// On the prototype rather than as an override: `query` has a dozen overloads, all of which
// this forwards unchanged except the one it names.
Object.defineProperty(PreparingClient.prototype, "query", { value: preparedQuery, writable: true, configurable: true })
