/**
 * Least privilege on the embedded PostgreSQL: the service never connects as the superuser.
 *
 * - `tasks_owner` owns the `tasks` database and everything in it, and runs the migrations;
 * - `tasks_service`, the service's runtime role, may only SELECT/INSERT/UPDATE/DELETE rows and use
 *   sequences; it cannot create, alter, drop or truncate a table, nor create anything in a schema.
 *   Default privileges of `tasks_owner` grant it the same on every table a later migration creates.
 *
 * Run on every start, idempotently: it also upgrades a cluster made before these roles existed
 * (where the superuser owned the database and ran the migrations) in place.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import * as Crypto from "node:crypto"
import { EmbeddedDatabaseError } from "./EmbeddedProcess.ts"

export const DATABASE = "tasks"
export const OWNER = "tasks_owner"
export const RUNTIME = "tasks_service"

const hmac = (key: Buffer, text: string) => Crypto.createHmac("sha256", key).update(text).digest()

/**
 * The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (RFC 5803, as libpq's
 * `PQencryptPasswordConn` computes it). Sent instead of the password, so that the password is in
 * no statement's text, hence in no server log line.
 */
export const scramVerifier = (password: string): string => {
  const salt = Crypto.randomBytes(16)
  const iterations = 4096
  const salted = Crypto.pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256")
  const storedKey = Crypto.createHash("sha256").update(hmac(salted, "Client Key")).digest()
  const serverKey = hmac(salted, "Server Key")
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`
}

// Role names are constants and verifiers are base64 with `$:`: nothing here needs escaping.
const roleStatement = (exists: boolean, role: string, password: string) =>
  `${exists ? "ALTER" : "CREATE"} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
  `PASSWORD '${scramVerifier(password)}'`

// Objects in `public` not owned by OWNER (a cluster from before the roles: the superuser made
// them) are handed over. Sequences that belong to a column follow their table.
const TAKE_OVER = `DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
             AND c.relowner <> '${OWNER}'::regrole LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${OWNER}', r.name);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner <> '${OWNER}'::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO ${OWNER}', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.proowner <> '${OWNER}'::regrole LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${OWNER}', r.name);
  END LOOP;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ${RUNTIME};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${RUNTIME};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${RUNTIME};
ALTER DEFAULT PRIVILEGES FOR ROLE ${OWNER} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${RUNTIME};
ALTER DEFAULT PRIVILEGES FOR ROLE ${OWNER} IN SCHEMA public GRANT USAGE ON SEQUENCES TO ${RUNTIME};`

const asSuperuser = (url: Redacted.Redacted<string>, what: string) =>
<A, E>(effect: Effect.Effect<A, E, PgClient.PgClient>) =>
  effect.pipe(
    Effect.provide(PgClient.layer({ url, maxConnections: 1 })),
    Effect.mapError((error) =>
      new EmbeddedDatabaseError({ message: `${what}: ${error instanceof Error ? error.message : String(error)}` })
    )
  )

/**
 * Creates or updates both roles with these passwords, the `tasks` database owned by OWNER, and
 * the runtime role's grants. `superuserUrl` names any database of the cluster; the database is
 * swapped in the URL.
 */
export const ensureRoles = (
  superuserUrl: (database: string) => Redacted.Redacted<string>,
  passwords: { readonly owner: string; readonly runtime: string }
): Effect.Effect<void, EmbeddedDatabaseError> =>
  Effect.gen(function*() {
    yield* Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const roles = yield* sql<{ readonly rolname: string }>`
        SELECT rolname FROM pg_roles WHERE rolname IN (${OWNER}, ${RUNTIME})`
      const exists = (role: string) => roles.some((row) => row.rolname === role)
      yield* sql.unsafe(roleStatement(exists(OWNER), OWNER, passwords.owner))
      yield* sql.unsafe(roleStatement(exists(RUNTIME), RUNTIME, passwords.runtime))
      const database = yield* sql<{ readonly owner: string }>`
        SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${DATABASE}`
      // DDL takes no bound parameters: the names go in as quoted identifiers (`sql(name)`).
      if (database.length === 0) yield* sql`CREATE DATABASE ${sql(DATABASE)} OWNER ${sql(OWNER)}`
      else if (database[0]?.owner !== OWNER) yield* sql`ALTER DATABASE ${sql(DATABASE)} OWNER TO ${sql(OWNER)}`
    }).pipe(asSuperuser(superuserUrl("postgres"), "Could not create the roles and the database"))
    yield* Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe(TAKE_OVER)).pipe(
      asSuperuser(superuserUrl(DATABASE), `Could not grant ${RUNTIME} its privileges`)
    )
  })
