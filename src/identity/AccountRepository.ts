import { Context, Data, Duration, type Effect, type Option } from "effect"
import type { UserId } from "../domain/Ids.ts"

/**
 * Where accounts, identity providers' subjects and failed sign-ins live. Emails arrive
 * normalised (see `Credentials.ts`); password hashes are opaque strings. As in
 * `TaskRepository`, infrastructure failures are defects (a 500, logged with its cause).
 */

export class EmailTaken extends Data.TaggedError("EmailTaken")<{ readonly message: string }> {}

export interface Account {
  readonly userId: UserId
  readonly passwordHash: string
}

/** After this many failed sign-ins for one email within `FAILURE_WINDOW`, the next are refused. */
export const MAX_FAILURES = 10
export const FAILURE_WINDOW = Duration.minutes(15)
/** Old failures deleted per recorded failure: the table shrinks faster than one row grows it. */
export const SWEEP_BATCH = 100

export interface AccountRepositoryShape {
  /** A new user with this email, on an id no user has; `EmailTaken` if the email is someone's. */
  readonly signUp: (email: string, passwordHash: string) => Effect.Effect<UserId, EmailTaken>
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<Account>>
  readonly emailOf: (userId: UserId) => Effect.Effect<Option.Option<string>>
  /** The user of an identity provider's subject: created on first use, the same ever after. */
  readonly subjectUser: (issuer: string, subject: string) => Effect.Effect<UserId>
  /**
   * Seconds until sign-ins for `email` are allowed again: `Some` once `MAX_FAILURES` failures
   * lie within `FAILURE_WINDOW`, for as long as it takes the oldest of the last
   * `MAX_FAILURES` to leave it. Asking does not count as an attempt.
   */
  readonly throttledFor: (email: string) => Effect.Effect<Option.Option<number>>
  /** Counts a failed sign-in, and deletes up to `SWEEP_BATCH` failures that left the window. */
  readonly recordFailure: (email: string) => Effect.Effect<void>
  /** A successful sign-in forgets the failures before it. */
  readonly clearFailures: (email: string) => Effect.Effect<void>
}

export class AccountRepository extends Context.Tag("AccountRepository")<AccountRepository, AccountRepositoryShape>() {}
