import { Context, Effect, Layer, Option } from "effect"
import type { UserId } from "../domain/Ids.ts"
import { AccountRepository } from "./AccountRepository.ts"
import { type TokenError, TokenVerifier } from "./Tokens.ts"

/**
 * From a bearer token to the user a request acts for: what the security middleware calls.
 * A token that names a user id acts for it; an identity provider's subject (with
 * `AUTH_MAP_SUBJECTS`) acts for the user it is mapped to. A token that fails verification
 * never reaches the database; a valid one with a subject not seen by this instance does
 * once, and then its user id is remembered (bounded, least recently used first out).
 */

export interface AuthenticatorShape {
  readonly authenticate: (token: string) => Effect.Effect<UserId, TokenError>
  /** `GET /auth/me`: the user id, and the email when the user has an account. */
  readonly me: (userId: UserId) => Effect.Effect<{ readonly user_id: UserId; readonly email?: string }>
}

export class Authenticator extends Context.Tag("Authenticator")<Authenticator, AuthenticatorShape>() {}

export const SUBJECT_CACHE_CAPACITY = 10_000

export const AuthenticatorLive = Layer.effect(
  Authenticator,
  Effect.gen(function*() {
    const verifier = yield* TokenVerifier
    const repository = yield* AccountRepository
    // A mapping never changes once made, so it can be kept as long as there is room.
    const subjects = new Map<string, UserId>()
    const remember = (key: string, userId: UserId) => {
      if (subjects.size >= SUBJECT_CACHE_CAPACITY) {
        const oldest = subjects.keys().next()
        if (oldest.done !== true) subjects.delete(oldest.value)
      }
      subjects.set(key, userId)
    }

    return Authenticator.of({
      authenticate: (token) =>
        Effect.flatMap(verifier.verify(token), ({ subject }) => {
          if (subject._tag === "UserId") return Effect.succeed(subject.id)
          const key = JSON.stringify([subject.issuer, subject.subject])
          const known = subjects.get(key)
          if (known !== undefined) {
            subjects.delete(key)
            subjects.set(key, known)
            return Effect.succeed(known)
          }
          return Effect.tap(repository.subjectUser(subject.issuer, subject.subject), (userId) => remember(key, userId))
        }),
      me: (userId) =>
        Effect.map(repository.emailOf(userId), (email) =>
          Option.match(email, {
            onNone: () => ({ user_id: userId }),
            onSome: (value) => ({ user_id: userId, email: value })
          }))
    })
  })
)
