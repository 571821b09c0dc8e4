import { Context, Data, Effect, Layer, Option } from "effect"
import type { UserId } from "../domain/Ids.ts"
import { AccountRepository, type EmailTaken } from "./AccountRepository.ts"
import { isAccountEmail, isAccountPassword, type SignInPayload, type SignUpPayload } from "./Credentials.ts"
import { type Busy, Passwords } from "./Passwords.ts"
import { TokenIssuer, type TokenResponse } from "./TokenIssuer.ts"

/**
 * Sign-up and sign-in (CONTRACT.md, accounts), independent of HTTP: the API decodes the
 * bodies with `SignUpPayload` / `SignInPayload` and maps these errors to its envelopes
 * (EmailTaken → 409, InvalidCredentials → 401, Throttled and Busy → 429 with Retry-After).
 */

export class InvalidCredentials extends Data.TaggedError("InvalidCredentials")<{ readonly message: string }> {}
export class Throttled extends Data.TaggedError("Throttled")<{
  readonly message: string
  readonly retryAfterSeconds: number
}> {}

export interface AccountsShape {
  readonly signUp: (input: SignUpPayload) => Effect.Effect<{ readonly userId: UserId }, EmailTaken | Busy>
  readonly signIn: (input: SignInPayload) => Effect.Effect<TokenResponse, InvalidCredentials | Throttled | Busy>
}

export class Accounts extends Context.Tag("Accounts")<Accounts, AccountsShape>() {}

const invalidCredentials = new InvalidCredentials({ message: "Invalid email or password" })

export const AccountsLive = Layer.effect(
  Accounts,
  Effect.gen(function*() {
    const repository = yield* AccountRepository
    const passwords = yield* Passwords
    const issuer = yield* TokenIssuer

    /**
     * Whether the password is the account's. Every path that does not find a usable account
     * still pays one argon2id verification, so an unknown email and a wrong password take the
     * same time: both run the throttle query, the lookup, one verification and the failure
     * insert. (An email that sign-up would refuse cannot be an account's, so it skips the
     * database: that tells nothing the address itself does not.)
     */
    const check = (email: string, password: string) =>
      Effect.gen(function*() {
        const account = yield* repository.findByEmail(email)
        if (Option.isNone(account) || !isAccountPassword(password)) {
          yield* passwords.verifyUnknown(isAccountPassword(password) ? password : "")
          return Option.none<UserId>()
        }
        return (yield* passwords.verify(account.value.passwordHash, password))
          ? Option.some(account.value.userId)
          : Option.none()
      })

    return Accounts.of({
      signUp: ({ email, password }) =>
        Effect.flatMap(passwords.hash(password), (hash) => repository.signUp(email, hash)).pipe(
          Effect.map((userId) => ({ userId }))
        ),
      signIn: ({ email, password }) =>
        Effect.gen(function*() {
          if (!isAccountEmail(email)) {
            yield* passwords.verifyUnknown("")
            return yield* invalidCredentials
          }
          const wait = yield* repository.throttledFor(email)
          if (Option.isSome(wait)) {
            return yield* new Throttled({
              message: "Too many failed sign-ins for this email; try again later",
              retryAfterSeconds: wait.value
            })
          }
          const userId = yield* check(email, password)
          if (Option.isNone(userId)) {
            yield* repository.recordFailure(email)
            return yield* invalidCredentials
          }
          yield* repository.clearFailures(email)
          return yield* issuer.issue(userId.value, email)
        })
    })
  })
)
