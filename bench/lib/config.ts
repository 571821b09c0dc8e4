import { parseArgs } from "node:util"

/** Version 1 scenarios: every target runs them. */
export const PLAIN_SCENARIOS = ["get", "list", "create", "update", "mixed"] as const
export type PlainScenario = (typeof PLAIN_SCENARIOS)[number]
/**
 * Version 2 scenarios: the service alone runs them (the baseline and Fastify implement version 1),
 * each compared with the plain scenario it adds a feature to.
 */
export const SERVICE_SCENARIOS = ["get-auth", "list-page", "create-idem", "update-if-match"] as const
export type ServiceScenario = (typeof SERVICE_SCENARIOS)[number]
export const SCENARIOS = [...PLAIN_SCENARIOS, ...SERVICE_SCENARIOS] as const
export type Scenario = (typeof SCENARIOS)[number]
export const referenceOf: Record<ServiceScenario, PlainScenario> = {
  "get-auth": "get",
  "list-page": "list",
  "create-idem": "create",
  "update-if-match": "update"
}
export const isServiceScenario = (scenario: Scenario): scenario is ServiceScenario =>
  (SERVICE_SCENARIOS as ReadonlyArray<string>).includes(scenario)

/**
 * In the order each round runs them. `before` is the service at another commit (`--before`),
 * right after the service, so that the two builds alternate.
 */
export const TARGETS = ["service", "before", "baseline", "fastify"] as const
export type Target = (typeof TARGETS)[number]

export interface Config {
  readonly duration: number
  readonly warmup: number
  readonly connections: number
  readonly threads: number
  readonly rounds: number
  readonly scenarios: ReadonlyArray<Scenario>
  readonly targets: ReadonlyArray<Target>
  /** The git ref whose service is the `before` target; undefined without --before. */
  readonly before: string | undefined
  readonly out: string
  readonly embedded: boolean
  readonly databaseUrl: string | undefined
  readonly adminUrl: string
  readonly soak: boolean
  readonly soakDuration: number
  readonly startup: boolean
  readonly cpuProf: boolean
  readonly users: number
  readonly tasksPerUser: number
  /** Users seeded with `pageTasks` tasks each, for list-page. */
  readonly pageUsers: number
  readonly pageTasks: number
}

export const usage = `npm run bench -- [options]      (every option also has an env var)

  --quick              a development preset: 1 round, 3 s scenarios, 1 s warm-up, no
                       start-up probe, 10 page users (options given too still win)
  --duration <s>       seconds per scenario and round          BENCH_DURATION   10
  --warmup <s>         unrecorded load before each scenario    BENCH_WARMUP     2
  --connections <n>    concurrent connections                  BENCH_CONNECTIONS 32
  --threads <n>        wrk threads                             BENCH_THREADS    1
  --rounds <n>         rounds, each target in turn             BENCH_ROUNDS     5
  --scenarios <list>   get,list,create,update,mixed (every target) and
                       get-auth,list-page,create-idem,update-if-match (service only)
                                                               BENCH_SCENARIOS  all
  --targets <list>     service,before,baseline,fastify         BENCH_TARGETS    all three
                       (and before when --before is given)
  --before <git-ref>   add the target before: the service at that commit, bundled and run
                       like the service on a fresh database of its own; plain scenarios only
                                                               BENCH_BEFORE     off
  --out <file>         JSON results                            BENCH_OUT        bench/results/<timestamp>.json
  --embedded           service on its embedded PostgreSQL (temp DATA_DIR; before on one of
                       its own); the baseline and fastify get an embedded PostgreSQL of
                       their own                               BENCH_EMBEDDED=1
  --soak               add the soak: mixed load on a fresh process  BENCH_SOAK=1
  --soak-duration <s>  soak length                             BENCH_SOAK_DURATION 60
  --no-startup         skip the fresh/reopened DATA_DIR start-up probe  BENCH_STARTUP=0
  --cpu-prof           write a V8 CPU profile per target process next to --out
                       (profiling slows every target: not for comparing numbers)
  --users <n>, --tasks-per-user <n>   seed size               100, 20
  --page-users <n>     users with 200 tasks each, for list-page BENCH_PAGE_USERS 20

  DATABASE_URL given: every target runs on that database (the service migrates it).
  Otherwise each target gets a fresh database on BENCH_ADMIN_URL
  (postgres://postgres@127.0.0.1:5432/postgres), dropped at the end. --before needs that
  (or --embedded): the other commit migrates a database of its own.`

const positive = (name: string, text: string, allowZero = false): number => {
  const value = Number(text.replace(/s$/, ""))
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`${name}: expected a ${allowZero ? "non-negative" : "positive"} number, got "${text}"`)
  }
  return value
}

const listOf = <A extends string>(name: string, text: string, allowed: ReadonlyArray<A>): ReadonlyArray<A> => {
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "")
  const known = (item: string): item is A => (allowed as ReadonlyArray<string>).includes(item)
  const unknown = items.filter((item) => !known(item))
  if (unknown.length > 0 || items.length === 0) {
    throw new Error(`${name}: expected some of ${allowed.join(",")}, got "${text}"`)
  }
  return allowed.filter((item) => items.includes(item))
}

const nonEmpty = (text: string | undefined): string | undefined =>
  text === undefined || text.trim() === "" ? undefined : text.trim()

const flag = (value: boolean | undefined, env: string | undefined): boolean =>
  value ?? (env !== undefined && env !== "" && env !== "0" && env !== "false")

export const parseConfig = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Config | "help" => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      rounds: { type: "string" },
      scenarios: { type: "string" },
      targets: { type: "string" },
      before: { type: "string" },
      out: { type: "string" },
      embedded: { type: "boolean" },
      soak: { type: "boolean" },
      "soak-duration": { type: "string" },
      "no-startup": { type: "boolean" },
      "cpu-prof": { type: "boolean" },
      users: { type: "string" },
      "tasks-per-user": { type: "string" },
      "page-users": { type: "string" },
      quick: { type: "boolean" },
      help: { type: "boolean", short: "h" }
    }
  })
  if (values.help === true) return "help"
  const stamp = new Date().toISOString().replace(/[:.]/g, "-")
  const users = positive("--users", values.users ?? env.BENCH_USERS ?? "100")
  if (users > 500) throw new Error("--users: at most 500 (user id ranges are 1000 wide)")
  // --quick changes defaults only: an option or variable given alongside it still wins.
  const quick = values.quick === true
  const rounds = positive("--rounds", values.rounds ?? env.BENCH_ROUNDS ?? (quick ? "1" : "5"), true)
  if (rounds > 50) throw new Error("--rounds: at most 50")
  const pageUsers = positive("--page-users", values["page-users"] ?? env.BENCH_PAGE_USERS ?? (quick ? "10" : "20"))
  if (pageUsers > 200) throw new Error("--page-users: at most 200 (user id ranges are 1000 wide)")
  const before = nonEmpty(values.before ?? env.BENCH_BEFORE)
  const defaultTargets = TARGETS.filter((target) => target !== "before" || before !== undefined)
  const targets = listOf("--targets", values.targets ?? env.BENCH_TARGETS ?? defaultTargets.join(","), TARGETS)
  if (targets.includes("before") && before === undefined) throw new Error("--targets before: needs --before <git-ref>")
  if (before !== undefined && !targets.includes("before")) {
    throw new Error(`--before ${before}: --targets leaves out before (add it: --targets ${[...targets, "before"].join(",")})`)
  }
  const embedded = flag(values.embedded, env.BENCH_EMBEDDED)
  const databaseUrl = nonEmpty(env.DATABASE_URL)
  // On a shared database the other commit would find the service's schema, not migrate its own.
  if (before !== undefined && databaseUrl !== undefined && !embedded) {
    throw new Error(`--before ${before}: the other commit needs a fresh database of its own; unset DATABASE_URL (or use --embedded)`)
  }
  return {
    duration: positive("--duration", values.duration ?? env.BENCH_DURATION ?? (quick ? "3" : "10")),
    warmup: positive("--warmup", values.warmup ?? env.BENCH_WARMUP ?? (quick ? "1" : "2"), true),
    connections: positive("--connections", values.connections ?? env.BENCH_CONNECTIONS ?? "32"),
    threads: positive("--threads", values.threads ?? env.BENCH_THREADS ?? "1"),
    rounds,
    scenarios: listOf("--scenarios", values.scenarios ?? env.BENCH_SCENARIOS ?? SCENARIOS.join(","), SCENARIOS),
    targets,
    before,
    out: values.out ?? env.BENCH_OUT ?? `bench/results/${stamp}.json`,
    embedded,
    databaseUrl,
    adminUrl: env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    soak: flag(values.soak, env.BENCH_SOAK),
    soakDuration: positive("--soak-duration", values["soak-duration"] ?? env.BENCH_SOAK_DURATION ?? "60"),
    startup: values["no-startup"] === true ? false : flag(undefined, env.BENCH_STARTUP ?? (quick ? "0" : "1")),
    cpuProf: flag(values["cpu-prof"], env.BENCH_CPU_PROF),
    users,
    tasksPerUser: positive("--tasks-per-user", values["tasks-per-user"] ?? env.BENCH_TASKS_PER_USER ?? "20"),
    pageUsers,
    pageTasks: 200
  }
}
