import { Clock, Duration, Effect, Layer, Option } from "effect"
import { MAX_ID, UserId } from "../domain/Ids.ts"
import { AccountRepository, EmailTaken, FAILURE_WINDOW, MAX_FAILURES, SWEEP_BATCH } from "./AccountRepository.ts"

/**
 * Accounts in process memory, for tests and for trying the service without a database.
 * Every build starts empty except for `usedIds`, ids already in use elsewhere (the task
 * store's owners) that new users must not take. Operations run synchronously from start to
 * end, so none interleave. Time comes from Effect's Clock, so tests can move it.
 */
export const makeAccountRepositoryMemory = (usedIds: Iterable<number> = []) =>
  Layer.sync(AccountRepository, () => {
    const users = new Map<number, { readonly email: string; readonly passwordHash: string } | null>()
    for (const id of usedIds) users.set(id, null)
    const byEmail = new Map<string, UserId>()
    const subjects = new Map<string, UserId>()
    const failures = new Map<string, Array<number>>()
    let next = 1
    const windowMillis = Duration.toMillis(FAILURE_WINDOW)

    const newId = (): UserId => {
      while (users.has(next)) next++
      if (next > MAX_ID) throw new Error("No user id left")
      return UserId.make(next++)
    }
    const recent = (email: string, now: number): Array<number> =>
      (failures.get(email) ?? []).filter((at) => at > now - windowMillis)

    return AccountRepository.of({
      signUp: (email, passwordHash) =>
        Effect.suspend(() => {
          if (byEmail.has(email)) return Effect.fail(new EmailTaken({ message: "An account with this email already exists" }))
          const id = newId()
          users.set(id, { email, passwordHash })
          byEmail.set(email, id)
          return Effect.succeed(id)
        }),
      findByEmail: (email) =>
        Effect.sync(() =>
          Option.flatMap(Option.fromNullable(byEmail.get(email)), (userId) =>
            Option.map(Option.fromNullable(users.get(userId)), (user) => ({ userId, passwordHash: user.passwordHash })))
        ),
      emailOf: (userId) => Effect.sync(() => Option.map(Option.fromNullable(users.get(userId)), (user) => user.email)),
      subjectUser: (issuer, subject) =>
        Effect.sync(() => {
          const key = JSON.stringify([issuer, subject])
          const known = subjects.get(key)
          if (known !== undefined) return known
          const id = newId()
          users.set(id, null)
          subjects.set(key, id)
          return id
        }),
      throttledFor: (email) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const inWindow = recent(email, now).sort((a, b) => b - a)
          const limiting = inWindow[MAX_FAILURES - 1]
          return limiting === undefined
            ? Option.none()
            : Option.some(Math.max(1, Math.ceil((limiting + windowMillis - now) / 1000)))
        }),
      recordFailure: (email) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          // The oldest entries first (insertion order): a bounded sweep, as in PostgreSQL.
          let swept = 0
          for (const [other, times] of failures) {
            if (swept++ >= SWEEP_BATCH) break
            if (times.every((at) => at <= now - windowMillis)) failures.delete(other)
          }
          const kept = recent(email, now)
          failures.delete(email)
          failures.set(email, [...kept, now])
        }),
      clearFailures: (email) => Effect.sync(() => void failures.delete(email))
    })
  })

export const AccountRepositoryMemory = makeAccountRepositoryMemory()
