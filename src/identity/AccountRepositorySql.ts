import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { UserId } from "../domain/Ids.ts"
import {
  AccountRepository,
  EmailTaken,
  FAILURE_WINDOW,
  MAX_FAILURES,
  SWEEP_BATCH
} from "./AccountRepository.ts"

/**
 * The PostgreSQL account repository (migration 0003). Every value travels as a bound
 * parameter. Ids are allocated by `users_insert_new` and subjects mapped by
 * `user_for_subject`, both in the database, so that two instances racing on one email or
 * one subject are decided by its unique keys. Throttling reads PostgreSQL's clock, the one
 * clock all instances share.
 */

const IdRow = Schema.Array(Schema.Struct({ id: Schema.NullOr(UserId) }))
const AccountRow = Schema.Array(Schema.Struct({ id: UserId, password_hash: Schema.String }))
const EmailRow = Schema.Array(Schema.Struct({ email: Schema.NullOr(Schema.String) }))
const WaitRow = Schema.Array(Schema.Struct({ wait: Schema.Number }))

const windowSeconds = Duration.toSeconds(FAILURE_WINDOW)

export const AccountRepositorySql = Layer.effect(
  AccountRepository,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // A row that does not decode means the schema is not what this code expects: a defect.
    const rows = <A, I>(schema: Schema.Schema<A, I>) => (statement: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
      statement.pipe(Effect.flatMap(Schema.decodeUnknown(schema)), Effect.orDie)
    const first = <A>(list: ReadonlyArray<A>) => Option.fromNullable(list[0])

    return AccountRepository.of({
      signUp: (email, passwordHash) =>
        rows(IdRow)(sql`SELECT users_insert_new(${email}, ${passwordHash}) AS id`).pipe(
          Effect.flatMap((found) => {
            const id = found[0]?.id ?? null
            return id === null
              ? Effect.fail(new EmailTaken({ message: "An account with this email already exists" }))
              : Effect.succeed(id)
          })
        ),
      findByEmail: (email) =>
        rows(AccountRow)(sql`SELECT id, password_hash FROM users WHERE email = ${email}`).pipe(
          Effect.map((found) => Option.map(first(found), (row) => ({ userId: row.id, passwordHash: row.password_hash })))
        ),
      emailOf: (userId) =>
        rows(EmailRow)(sql`SELECT email FROM users WHERE id = ${userId}`).pipe(
          Effect.map((found) => Option.flatMap(first(found), (row) => Option.fromNullable(row.email)))
        ),
      subjectUser: (issuer, subject) =>
        rows(IdRow)(sql`SELECT user_for_subject(${issuer}, ${subject}) AS id`).pipe(
          Effect.flatMap((found) => {
            const id = found[0]?.id ?? null
            return id === null ? Effect.dieMessage("user_for_subject returned no id") : Effect.succeed(id)
          })
        ),
      // The MAX_FAILURES-th most recent failure in the window: while there is one, sign-ins
      // wait until it leaves the window, and then fewer than MAX_FAILURES remain.
      throttledFor: (email) =>
        rows(WaitRow)(sql`
          SELECT greatest(1, ceil(extract(epoch FROM failed_at + make_interval(secs => ${windowSeconds}) - now())))::int AS wait
          FROM sign_in_failures
          WHERE email = ${email} AND failed_at > now() - make_interval(secs => ${windowSeconds})
          ORDER BY failed_at DESC
          OFFSET ${MAX_FAILURES - 1} LIMIT 1`).pipe(Effect.map((found) => Option.map(first(found), (row) => row.wait))),
      // A data-modifying CTE runs whether or not it is read: the sweep rides on the insert.
      recordFailure: (email) =>
        sql`
          WITH swept AS (
            DELETE FROM sign_in_failures WHERE id IN (
              SELECT id FROM sign_in_failures
              WHERE failed_at <= now() - make_interval(secs => ${windowSeconds})
              LIMIT ${SWEEP_BATCH}
            )
          )
          INSERT INTO sign_in_failures (email) VALUES (${email})`.pipe(Effect.asVoid, Effect.orDie),
      clearFailures: (email) => sql`DELETE FROM sign_in_failures WHERE email = ${email}`.pipe(Effect.asVoid, Effect.orDie)
    })
  })
)
