import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger, LogLevel, Option, Redacted } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { DatabaseConfig } from "../src/AppConfig.ts"
import { makeDatabase } from "../src/database/Database.ts"
import * as Embedded from "../src/database/Embedded.ts"
import { migrate } from "../src/database/Migrator.ts"
import { temporaryDataDir } from "./support/postgres.ts"

const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.timeout("60 seconds"), Logger.withMinimumLogLevel(LogLevel.Warning))

const embeddedConfig = (dataDir: string): DatabaseConfig => ({
  url: Option.none(),
  migrationUrl: Option.none(),
  dataDir,
  poolSize: 2,
  connectTimeout: Duration.seconds(10),
  queryTimeout: Duration.seconds(5),
  preparedStatements: true
})

const onDatabase = (url: Redacted.Redacted<string>, database: string) => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${database}`
  return PgClient.layer({ url: Redacted.make(parsed.toString()), maxConnections: 1 })
}

const messageOf = (error: { readonly message: string; readonly cause?: unknown }) =>
  `${error.message} ${error.cause instanceof Error ? error.cause.message : ""}`

/** What the service's own connection may do, seen from that connection. */
const runtimeChecks = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [me] = yield* sql<{ readonly user: string; readonly superuser: boolean }>`
    SELECT current_user AS user, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`
  const createTable = yield* Effect.flip(sql`CREATE TABLE intruder (id int)`)
  const dropTable = yield* Effect.flip(sql`DROP TABLE tasks`)
  const truncate = yield* Effect.flip(sql`TRUNCATE tasks`)
  // The repository may give its own role a statement_timeout: an ordinary role may do that.
  yield* sql`ALTER ROLE CURRENT_USER SET statement_timeout = '7s'`
  yield* sql`ALTER ROLE CURRENT_USER RESET statement_timeout`
  yield* sql`INSERT INTO users (id) VALUES (77) ON CONFLICT DO NOTHING`
  const [task] = yield* sql<{ readonly id: number }>`INSERT INTO tasks (user_id, title) VALUES (77, 'mine') RETURNING id`
  yield* sql`UPDATE tasks SET completed = true WHERE id = ${task?.id ?? 0}`
  const migrations = yield* sql<{ readonly id: number }>`SELECT migration_id AS id FROM effect_sql_migrations ORDER BY 1`
  const owners = yield* sql<{ readonly owner: string }>`
    SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = 'public'`
  return { me, createTable: messageOf(createTable), dropTable: messageOf(dropTable), truncate: messageOf(truncate), migrations, owners }
})

const expectLeastPrivilege = (seen: Effect.Effect.Success<typeof runtimeChecks>) => {
  expect(seen.me).toEqual({ user: "tasks_service", superuser: false })
  expect(seen.createTable).toMatch(/permission denied/)
  expect(seen.dropTable).toMatch(/must be owner/)
  expect(seen.truncate).toMatch(/permission denied/)
  expect(seen.migrations.map((row) => row.id)).toContain(1)
  expect(seen.owners).toEqual([{ owner: "tasks_owner" }])
}

const serverUid = (dataDir: string) =>
  Effect.map(Embedded.runningServer(dataDir), (pid) =>
    Option.map(pid, (p) => Number(/^Uid:\s+(\d+)/m.exec(Fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1])))

describe("least privilege on the embedded PostgreSQL", () => {
  it.scopedLive("the service connects as a role that is no superuser and cannot create or drop tables; migrations apply", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      expectLeastPrivilege(yield* runtimeChecks.pipe(Effect.provide(makeDatabase(embeddedConfig(dataDir)))))
      // The passwords are kept beside the superuser's, readable by this user only.
      for (const file of ["secret", "secret-owner", "secret-service"]) {
        expect(Fs.statSync(Path.join(dataDir, file)).mode & 0o777).toBe(0o600)
      }
    }).pipe(bounded))

  it.scopedLive("a cluster from before the roles (the superuser owned everything) is upgraded in place", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDataDir
      // Made as the code before this change did: the superuser owns the database and migrates it.
      yield* Effect.scoped(Effect.gen(function*() {
        const database = yield* Embedded.start({ dataDir })
        yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ALTER DATABASE tasks OWNER TO postgres`).pipe(
          Effect.provide(onDatabase(database.adminUrl, "postgres"))
        )
        yield* Effect.gen(function*() {
          yield* migrate
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO users (id) VALUES (5)`
          yield* sql`INSERT INTO tasks (user_id, title) VALUES (5, 'from before')`
          // One role at a time: both at once trips over the default ACL that names both.
          yield* sql`DROP OWNED BY tasks_service`
          yield* sql`DROP OWNED BY tasks_owner`
        }).pipe(Effect.provide(onDatabase(database.adminUrl, "tasks")), Effect.provide(NodeContext.layer))
        yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`DROP ROLE tasks_owner, tasks_service`).pipe(
          Effect.provide(onDatabase(database.adminUrl, "postgres"))
        )
      }))
      for (const file of ["secret-owner", "secret-service"]) Fs.rmSync(Path.join(dataDir, file))
      // As root, an old cluster could belong to the host's `postgres` user: it keeps running as that uid.
      const postgresUid = process.getuid?.() === 0
        ? Option.fromNullable(ChildProcess.spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim() || null)
        : Option.none<string>()
      if (Option.isSome(postgresUid)) ChildProcess.execFileSync("chown", ["-R", "postgres:", dataDir])

      const seen = yield* Effect.gen(function*() {
        const uid = yield* serverUid(dataDir)
        const checks = yield* runtimeChecks
        const old = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly title: string }>`SELECT title FROM tasks WHERE user_id = 5`)
        return { uid, checks, old }
      }).pipe(Effect.provide(makeDatabase(embeddedConfig(dataDir))))
      expectLeastPrivilege(seen.checks)
      expect(seen.old).toEqual([{ title: "from before" }])
      if (Option.isSome(postgresUid)) expect(seen.uid).toEqual(Option.some(Number(postgresUid.value)))
    }).pipe(bounded))
})
