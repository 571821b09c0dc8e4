import { Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface Service {
  readonly base: string
  readonly process: ChildProcess
  /** Everything the process wrote so far, stdout and stderr. */
  readonly output: () => string
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>
}

/**
 * The service as a separate process (`node --import tsx src/main.ts`), as `npm start` runs
 * it, on an ephemeral port, from the project (or from `cwd`, a copy of it). Resolves once it
 * logs that it is listening; killed (SIGKILL) when the scope closes if it is still running.
 */
export const startService = (env: NodeJS.ProcessEnv, cwd: string = root): Effect.Effect<Service, Error, Scope.Scope> =>
  startNode(["--import", "tsx", "src/main.ts"], env, cwd)

/**
 * `node <args>` (the service's entry point after the arguments) as `startService` starts it:
 * ready when it logs that it is listening, SIGKILLed when the scope closes.
 */
export const startNode = (
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  cwd: string = root
): Effect.Effect<Service, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Service, Error>((resume) => {
      const child = spawn(process.execPath, [...args], {
        cwd,
        env: { PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "json", LOG_LEVEL: "Info", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      let done = false
      const exited = new Promise<number | string>((resolve) => {
        child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
      })
      const timer = setTimeout(() => finish(new Error(`Service did not start in 60 s:\n${output}`)), 60_000)
      const finish = (result: Error | string) => {
        if (done) return
        done = true
        clearTimeout(timer)
        if (typeof result === "string") {
          resume(Effect.succeed({ base: result, process: child, output: () => output, exited }))
        } else {
          child.kill("SIGKILL")
          resume(Effect.fail(result))
        }
      }
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8")
        const listening = /Listening on http:\/\/[^:]+:(\d+)/.exec(output)
        if (listening) finish(`http://127.0.0.1:${listening[1]}`)
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      void exited.then((code) => finish(new Error(`Service exited (${code}) before listening:\n${output}`)))
    }),
    (service) =>
      Effect.promise(async () => {
        if (service.process.exitCode === null && service.process.signalCode === null) service.process.kill("SIGKILL")
        await service.exited
      })
  )
