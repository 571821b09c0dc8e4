import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Effect, Layer } from "effect"
import { readdir, readFile } from "node:fs/promises"
import { existsSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * `migrations/` at the top of the project, found from this module's location whether it
 * runs from `src/` (tsx) or from the bundle in `dist/`, and wherever the process started.
 */
export const migrationsDirectory = ((): string => {
  let directory = Path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = Path.join(directory, "migrations")
    if (existsSync(Path.join(directory, "package.json")) && existsSync(candidate)) return candidate
    const parent = Path.dirname(directory)
    if (parent === directory) throw new Error("Cannot find the migrations/ directory of the project")
    directory = parent
  }
})()

/**
 * Loads `NNNN_name.sql` files. `Migrator.fromFileSystem` only loads `.ts`/`.js`
 * modules; plain SQL files keep the schema readable by anyone who knows PostgreSQL.
 * Each file runs as one simple-protocol query, so it may hold several statements.
 */
export const sqlFileLoader = (directory: string): Migrator.Loader =>
  Effect.tryPromise({
    try: async () => {
      const migrations: Array<Migrator.ResolvedMigration> = []
      for (const file of await readdir(directory)) {
        const match = /^(\d+)_(.+)\.sql$/.exec(file)
        if (match === null) continue
        const text = await readFile(`${directory}/${file}`, "utf8")
        const load = Effect.succeed(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(text)))
        migrations.push([Number(match[1]), match[2]!, load])
      }
      // By number, not by name: 10_x runs after 9_y.
      return migrations.sort(([a], [b]) => a - b)
    },
    catch: (cause) =>
      new Migrator.MigrationError({ reason: "bad-state", message: `Cannot read migrations: ${String(cause)}` })
  })

/**
 * Applies pending migrations; two processes starting at once take turns. The migrator
 * serialises runs with a lock on its bookkeeping table, but creates that table first,
 * outside the lock, where two processes can race. So the table is created here, under
 * a transaction-scoped advisory lock, with the definition the migrator itself uses.
 */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(
    Effect.zipRight(
      sql`SELECT pg_advisory_xact_lock(hashtext('task-api:migrations'))`,
      sql`CREATE TABLE IF NOT EXISTS effect_sql_migrations (
            migration_id integer primary key,
            created_at timestamp with time zone not null default now(),
            name text not null
          )`
    )
  )
  return yield* PgMigrator.run({ loader: sqlFileLoader(migrationsDirectory) })
})

export const MigratorLive = Layer.effectDiscard(
  migrate.pipe(
    Effect.tap((applied) =>
      applied.length > 0
        ? Effect.logInfo("Applied migrations").pipe(
          Effect.annotateLogs("migrations", applied.map(([id, name]) => `${id}_${name}`).join(", "))
        )
        : Effect.logDebug("Database schema is up to date")
    )
  )
)
