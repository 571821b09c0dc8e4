import * as Argon2 from "@node-rs/argon2"
import { Context, Data, Effect, Layer } from "effect"
import { AuthConfig } from "./AuthConfig.ts"

/**
 * Password hashing: argon2id at OWASP's current minimum (19 MiB, 2 passes, 1 lane), on
 * libuv's thread pool through @node-rs/argon2 (prebuilt napi binaries, no install script).
 *
 * At most `concurrency` hashes run at once per instance; one more is refused at once with
 * `Busy` (the API answers 429 with Retry-After) rather than queued, so a burst of sign-ins
 * can neither pile up memory (19 MiB each) nor take the thread pool that node's file and
 * DNS work also use (4 threads by default).
 */

export const ARGON2_OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const satisfies {
  readonly algorithm: Argon2.Algorithm
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

/**
 * A hash with exactly `ARGON2_OPTIONS`, of a password nobody knows (random, then thrown
 * away), verified against when the email is unknown so that the answer costs what a real
 * verification costs. A test checks that its parameters are `ARGON2_OPTIONS`.
 */
export const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$jDoQT6qAFQ4hZcahUEcllg$1mUX3q78wTOppD1kkGUmwzzcUuyNBkUhgdWmYBDLU6Q"

/** Seconds a client is told to wait when every hashing slot is taken. */
export const BUSY_RETRY_AFTER_SECONDS = 1

export class Busy extends Data.TaggedError("Busy")<{ readonly message: string; readonly retryAfterSeconds: number }> {}

export interface PasswordsShape {
  readonly hash: (password: string) => Effect.Effect<string, Busy>
  readonly verify: (hash: string, password: string) => Effect.Effect<boolean, Busy>
  /** Costs what `verify` costs and answers `false`: for an email that has no account. */
  readonly verifyUnknown: (password: string) => Effect.Effect<false, Busy>
}

export class Passwords extends Context.Tag("Passwords")<Passwords, PasswordsShape>() {}

export const makePasswords = (concurrency: number): PasswordsShape => {
  let running = 0
  /**
   * The slot is given back when the native work ends, not when the fiber does: an
   * interrupted request cannot stop a hash already on the thread pool, and its memory
   * is in use until then.
   */
  const bounded = <A>(work: () => Promise<A>): Effect.Effect<A, Busy> =>
    Effect.suspend(() => {
      if (running >= concurrency) {
        return Effect.fail(
          new Busy({ message: "Too many sign-ins at once; try again shortly", retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS })
        )
      }
      running++
      const done = work().finally(() => {
        running--
      })
      // Should the fiber be interrupted before it awaits, a failure must not go unhandled.
      done.catch(() => undefined)
      // A stored hash that cannot be read is a defect: a 500, logged with its cause.
      return Effect.promise(() => done)
    })
  return {
    hash: (password) => bounded(() => Argon2.hash(password, ARGON2_OPTIONS)),
    verify: (hash, password) => bounded(() => Argon2.verify(hash, password)),
    verifyUnknown: (password) => bounded(() => Argon2.verify(DUMMY_HASH, password).then(() => false as const))
  }
}

export const PasswordsLive = Layer.effect(
  Passwords,
  Effect.map(AuthConfig, (config) => makePasswords(config.hashConcurrency))
)
