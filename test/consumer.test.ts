import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { serve } from "./support/http.ts"

/**
 * The package as another program gets it: packed by `npm pack` (whose `prepare` builds
 * dist/lib), unpacked into a scratch consumer, type-checked there by tsc with default
 * settings (NodeNext, then Bundler), compiled and run with plain node against a server.
 * The packing happens in a copy of the project, so that this test never rewrites the
 * working tree's dist/ under other tests. The consumer gets `effect` and `@effect/platform`
 * as links into this project's node_modules instead of from the registry: offline, and
 * fast; which packages the build imports at all is checked below.
 */
const root = Path.resolve(import.meta.dirname, "..")
const fixture = Path.join(root, "test", "fixtures", "consumer")
const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")
const manifest: { readonly dependencies: Record<string, string> } = JSON.parse(
  Fs.readFileSync(Path.join(root, "package.json"), "utf8")
)

const run = (command: string, args: ReadonlyArray<string>, cwd: string): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    execFile(command, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resume(
        error === null
          ? Effect.succeed(stdout)
          : Effect.fail(new Error(`${command} ${args.join(" ")} failed:\n${stdout}\n${stderr}`))
      ))
  })

const temporaryDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "task-api-consumer-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

const link = (from: string, packageName: string) => {
  const target = Path.join(from, "node_modules", packageName)
  Fs.mkdirSync(Path.dirname(target), { recursive: true })
  Fs.symlinkSync(Path.join(root, "node_modules", packageName), target, "dir")
}

const filesUnder = (directory: string): ReadonlyArray<string> =>
  Fs.readdirSync(directory, { recursive: true, encoding: "utf8" }).map((file) => file.split(Path.sep).join("/"))

/** The bare specifiers (packages) a module imports, statically or dynamically. */
const packagesImported = (source: string): ReadonlyArray<string> =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)"([^"]+)"/g)]
    .map((match) => match[1] ?? "")
    .filter((specifier) => !specifier.startsWith("."))

describe("the package, as another program imports it", () => {
  it.scopedLive("packs, type-checks with default settings, and runs with plain node against a server", () =>
    Effect.gen(function*() {
      const scratch = yield* temporaryDirectory

      // A copy of what a fresh clone has, sharing node_modules, packed with its scripts.
      const stage = Path.join(scratch, "stage")
      Fs.mkdirSync(stage)
      for (const entry of ["package.json", "tsconfig.json", "tsconfig.build.json", "src"]) {
        Fs.cpSync(Path.join(root, entry), Path.join(stage, entry), { recursive: true })
      }
      Fs.symlinkSync(Path.join(root, "node_modules"), Path.join(stage, "node_modules"), "dir")
      const packed: ReadonlyArray<{ readonly filename: string; readonly files: ReadonlyArray<{ path: string }> }> =
        JSON.parse(yield* run("npm", ["pack", "--json", "--pack-destination", scratch], stage))
      const tarball = packed[0]
      if (tarball === undefined) return yield* Effect.die(new Error("npm pack gave no tarball"))
      const contents = tarball.files.map((file) => file.path)
      expect(contents).toContain("dist/lib/client.js")
      expect(contents).toContain("dist/lib/client.d.ts")
      expect(contents.filter((file) => file.startsWith("dist/") && !file.startsWith("dist/lib/"))).toEqual([])

      const consumer = Path.join(scratch, "consumer")
      Fs.cpSync(fixture, consumer, { recursive: true })
      Fs.renameSync(Path.join(consumer, "main.ts.txt"), Path.join(consumer, "main.ts"))
      const installed = Path.join(consumer, "node_modules", "task-api")
      Fs.mkdirSync(installed, { recursive: true })
      yield* run("tar", ["-xzf", Path.join(scratch, tarball.filename), "-C", installed, "--strip-components=1"], scratch)
      for (const name of ["effect", "@effect/platform"]) link(consumer, name)

      // What the compiled library reaches: no server, repository or database module, and no
      // package but effect and @effect/platform (a driver, or node:http, would show here).
      const library = Path.join(installed, "dist", "lib")
      const modules = filesUnder(library).filter((file) => file.endsWith(".js"))
      expect(modules).toContain("client.js")
      expect(modules.filter((file) => /^(server|repository|database)\/|^(main|migrate)\.js$/.test(file))).toEqual([])
      const imported = new Set(
        modules.flatMap((file) => packagesImported(Fs.readFileSync(Path.join(library, file), "utf8")))
          .map((specifier) => specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0])
      )
      expect([...imported].sort()).toEqual(["@effect/platform", "effect"])
      for (const name of imported) expect(Object.keys(manifest.dependencies)).toContain(name)

      const base = yield* serve()
      Fs.writeFileSync(Path.join(consumer, "server.ts"), `export const baseUrl = ${JSON.stringify(base)}\n`)
      // Both resolutions at once: on two shared cores that halves the wait.
      yield* Effect.all([
        run("node", [tsc, "-p", "tsconfig.json"], consumer),
        run("node", [tsc, "-p", "tsconfig.bundler.json"], consumer)
      ], { concurrency: 2 })

      const output = yield* run("node", [Path.join("out", "main.js")], consumer)
      const result = JSON.parse(output)
      expect(result.created).toMatchObject({ user_id: 7, title: "From a plain node program", completed: false })
      expect(result.createdAtIsDate).toBe(true)
      expect(result.got).toEqual(result.created)
      expect(result.listed).toEqual([result.created])
      expect(result.missing).toBe("TaskNotFound: Task not found")
      expect(result.notFoundIsTheDomainClass).toBe(true)
      expect(result.groups).toContain("tasks")
    }), { timeout: 120_000 })
})
