import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Either, Layer, Option, type Redacted, TestClock } from "effect"
import { UserId } from "../src/domain/Ids.ts"
import { pgLayer } from "../src/database/Database.ts"
import { MigratorLive } from "../src/database/Migrator.ts"
import { AccountRepository, MAX_FAILURES, SWEEP_BATCH } from "../src/identity/AccountRepository.ts"
import { makeAccountRepositoryMemory } from "../src/identity/AccountRepositoryMemory.ts"
import { AccountRepositorySql } from "../src/identity/AccountRepositorySql.ts"
import { freshDatabaseUrl } from "./support/postgres.ts"

const pool = (url: Redacted.Redacted<string>) =>
  pgLayer(url, { poolSize: 5, connectTimeout: Duration.seconds(5), queryTimeout: Duration.seconds(5) })

/** The repository on a migrated database of its own, with `usedIds` already owned by users. */
const pgRepository = (usedIds: ReadonlyArray<number>): Layer.Layer<AccountRepository> =>
  Layer.unwrapScoped(
    Effect.map(freshDatabaseUrl, (url) =>
      AccountRepositorySql.pipe(
        Layer.provide(Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, (sql) =>
          // As the task repository creates an owner's row: an id of its own choosing.
          usedIds.length === 0 ? Effect.void : sql`INSERT INTO users (id) SELECT value::int FROM json_array_elements_text(${JSON.stringify(usedIds)}::json)`
        ))),
        Layer.provide(MigratorLive),
        Layer.provide(pool(url)),
        Layer.provide(NodeContext.layer)
      ))
  ).pipe(Layer.orDie)

const repositories: ReadonlyArray<readonly [string, (usedIds: ReadonlyArray<number>) => Layer.Layer<AccountRepository>]> =
  [
    ["memory", makeAccountRepositoryMemory],
    ["postgres", pgRepository]
  ]

for (const [name, make] of repositories) {
  describe(`AccountRepository (${name})`, () => {
    const run = <A, E>(test: Effect.Effect<A, E, AccountRepository>, usedIds: ReadonlyArray<number> = []) =>
      Effect.provide(test, make(usedIds))

    it.live("signUp creates an account found by email and by id; a taken email is EmailTaken", () =>
      run(Effect.gen(function*() {
        const accounts = yield* AccountRepository
        const id = yield* accounts.signUp("ann@example.com", "$argon2id$hash-a")
        expect(yield* accounts.findByEmail("ann@example.com")).toEqual(
          Option.some({ userId: id, passwordHash: "$argon2id$hash-a" })
        )
        expect(yield* accounts.emailOf(id)).toEqual(Option.some("ann@example.com"))
        const again = yield* Effect.either(accounts.signUp("ann@example.com", "$argon2id$hash-b"))
        expect(Either.isLeft(again) && again.left._tag).toBe("EmailTaken")
        expect(yield* accounts.findByEmail("bob@example.com")).toEqual(Option.none())
        expect(yield* accounts.emailOf(UserId.make(2_147_483_647))).toEqual(Option.none())
      })))

    it.live("new ids skip ids in use: users made by paths or tokens, accounts and subjects alike", () =>
      run(
        Effect.gen(function*() {
          const accounts = yield* AccountRepository
          const first = yield* accounts.signUp("a@example.com", "h")
          expect(first).toBe(51)
          const mapped = yield* accounts.subjectUser("https://idp.example", "auth0|1")
          const second = yield* accounts.signUp("b@example.com", "h")
          expect(new Set([first, mapped, second, 77]).size).toBe(4)
          expect([mapped, second].every((id) => id > 51 && id !== 77)).toBe(true)
          // A mapped user has no account.
          expect(yield* accounts.emailOf(mapped)).toEqual(Option.none())
        }),
        [...Array.from({ length: 50 }, (_, i) => i + 1), 77]
      ))

    it.live("subjectUser is stable per (issuer, subject), distinct across issuers", () =>
      run(Effect.gen(function*() {
        const accounts = yield* AccountRepository
        const a = yield* accounts.subjectUser("https://a.example", "user_2x")
        expect(yield* accounts.subjectUser("https://a.example", "user_2x")).toBe(a)
        const b = yield* accounts.subjectUser("https://b.example", "user_2x")
        const c = yield* accounts.subjectUser("", "user_2x")
        expect(new Set([a, b, c]).size).toBe(3)
      })))

    it.live("after MAX_FAILURES failures an email is throttled for ~15 minutes; others are not; clear resets", () =>
      run(Effect.gen(function*() {
        const accounts = yield* AccountRepository
        for (let i = 0; i < MAX_FAILURES - 1; i++) yield* accounts.recordFailure("x@example.com")
        expect(yield* accounts.throttledFor("x@example.com")).toEqual(Option.none())
        yield* accounts.recordFailure("x@example.com")
        const wait = Option.getOrThrow(yield* accounts.throttledFor("x@example.com"))
        expect(wait).toBeGreaterThan(890)
        expect(wait).toBeLessThanOrEqual(900)
        expect(yield* accounts.throttledFor("y@example.com")).toEqual(Option.none())
        yield* accounts.clearFailures("x@example.com")
        expect(yield* accounts.throttledFor("x@example.com")).toEqual(Option.none())
      })))
  })
}

describe("AccountRepository (memory) throttling over time", () => {
  it.effect("a failure leaves the window after 15 minutes, and the wait is until then", () =>
    Effect.gen(function*() {
      const accounts = yield* AccountRepository
      yield* accounts.recordFailure("x@example.com")
      yield* TestClock.adjust("5 minutes")
      for (let i = 1; i < MAX_FAILURES; i++) yield* accounts.recordFailure("x@example.com")
      expect(yield* accounts.throttledFor("x@example.com")).toEqual(Option.some(600))
      yield* TestClock.adjust("10 minutes")
      expect(yield* accounts.throttledFor("x@example.com")).toEqual(Option.none())
    }).pipe(Effect.provide(makeAccountRepositoryMemory())))
})

describe("AccountRepository (postgres), two instances on one database", () => {
  const twoInstances = Effect.gen(function*() {
    const url = yield* freshDatabaseUrl
    const instance = (migrate: boolean) =>
      Layer.build(
        AccountRepositorySql.pipe(
          Layer.provide(migrate ? MigratorLive : Layer.empty),
          Layer.provide(pool(url)),
          Layer.provide(NodeContext.layer)
        )
      ).pipe(Effect.map((context) => Context.get(context, AccountRepository)))
    const a = yield* instance(true)
    const b = yield* instance(false)
    return [a, b] as const
  })

  it.scopedLive("race on one subject, one email and many new accounts without a wrong answer", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoInstances
      const mapped = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).subjectUser("https://idp.example", "same")),
        { concurrency: "unbounded" }
      )
      expect(new Set(mapped).size).toBe(1)

      const sameEmail = yield* Effect.all(
        Array.from({ length: 10 }, (_, i) => Effect.either((i % 2 === 0 ? a : b).signUp("race@example.com", "h"))),
        { concurrency: "unbounded" }
      )
      expect(sameEmail.filter(Either.isRight)).toHaveLength(1)
      expect(sameEmail.filter(Either.isLeft).map((result) => result.left._tag)).toEqual(Array(9).fill("EmailTaken"))

      const many = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) =>
          i % 3 === 0
            ? (i % 2 === 0 ? a : b).subjectUser("https://idp.example", `s${i}`)
            : (i % 2 === 0 ? a : b).signUp(`u${i}@example.com`, "h")),
        { concurrency: "unbounded" }
      )
      const all = [...many, mapped[0]!, ...sameEmail.filter(Either.isRight).map((result) => result.right)]
      expect(new Set(all).size).toBe(all.length)
    }))

  it.scopedLive("failures recorded by two instances add up; both refuse", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoInstances
      yield* Effect.all(
        Array.from({ length: MAX_FAILURES }, (_, i) => (i % 2 === 0 ? a : b).recordFailure("shared@example.com")),
        { concurrency: "unbounded" }
      )
      expect(Option.isSome(yield* a.throttledFor("shared@example.com"))).toBe(true)
      expect(Option.isSome(yield* b.throttledFor("shared@example.com"))).toBe(true)
    }))
})

describe("AccountRepository (postgres) housekeeping", () => {
  it.scopedLive("recording a failure deletes up to SWEEP_BATCH failures that left the window", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabaseUrl
      const context = yield* Layer.build(
        Layer.merge(AccountRepositorySql, MigratorLive).pipe(
          Layer.provideMerge(pool(url)),
          Layer.provide(NodeContext.layer)
        )
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      const accounts = Context.get(context, AccountRepository)
      yield* sql`INSERT INTO sign_in_failures (email, failed_at)
                 SELECT 'old' || n || '@example.com', now() - interval '1 hour' FROM generate_series(1, ${SWEEP_BATCH + 50}) n`
      yield* accounts.recordFailure("new@example.com")
      const counts = yield* sql<{ old: number; fresh: number }>`
        SELECT count(*) FILTER (WHERE failed_at < now() - interval '15 minutes')::int AS old,
               count(*) FILTER (WHERE failed_at >= now() - interval '15 minutes')::int AS fresh
        FROM sign_in_failures`
      expect(counts[0]).toEqual({ old: 50, fresh: 1 })
    }))
})
