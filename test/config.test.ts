import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, LogLevel } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { LogConfig, ServerConfig } from "../src/AppConfig.ts"
import { sqlFileLoader } from "../src/database/Migrator.ts"

const load = <A, E>(config: Effect.Effect<A, E>, env: Record<string, string>) =>
  Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("configuration values", () => {
  it.effect("LOG_LEVEL takes level names in any case, warn and warning alike", () =>
    Effect.gen(function*() {
      for (const [text, level] of [
        ["warn", LogLevel.Warning],
        ["Warning", LogLevel.Warning],
        ["DEBUG", LogLevel.Debug],
        ["none", LogLevel.None]
      ] as const) {
        expect((yield* load(LogConfig, { LOG_LEVEL: text, LOG_FORMAT: "json" })).level).toBe(level)
      }
      expect((yield* load(LogConfig, { LOG_FORMAT: "pretty" })).level).toBe(LogLevel.Info)
    }))

  it.effect("defaults: port 8000 on every interface, CORS for any origin", () =>
    Effect.gen(function*() {
      const config = yield* load(ServerConfig, {})
      expect(config).toMatchObject({ port: 8000, host: "0.0.0.0", corsOrigins: ["*"] })
      const listed = yield* load(ServerConfig, { CORS_ORIGINS: " https://a.example , https://b.example,", PORT: "0" })
      expect(listed).toMatchObject({ port: 0, corsOrigins: ["https://a.example", "https://b.example"] })
      expect(Either.isLeft(yield* Effect.either(load(ServerConfig, { PORT: "" })))).toBe(true)
    }))
})

describe("migration files", () => {
  it.scopedLive("are found by name and ordered by number, not as text", () =>
    Effect.gen(function*() {
      const directory = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(Path.join(tmpdir(), "migrations-"))),
        (path) => Effect.promise(() => rm(path, { recursive: true, force: true }))
      )
      for (const file of ["10_later.sql", "9_earlier.sql", "0002_second.sql", "README.md", "x_no_number.sql"]) {
        yield* Effect.promise(() => writeFile(Path.join(directory, file), "SELECT 1"))
      }
      const migrations = yield* sqlFileLoader(directory)
      expect(migrations.map(([id, name]) => `${id}_${name}`)).toEqual(["2_second", "9_earlier", "10_later"])
    }))
})
