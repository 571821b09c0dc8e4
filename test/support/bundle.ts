import { Effect, Schema, type Scope } from "effect"
import { build } from "esbuild"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type Service, startNode } from "./service.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))

const PackageScripts = Schema.Struct({ scripts: Schema.Struct({ start: Schema.String, "build:server": Schema.String }) })

const scripts = () =>
  Schema.decodeUnknownSync(Schema.parseJson(PackageScripts))(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
    .scripts

/** The node flags of package.json's `start` script (`node <flags> dist/main.js`). */
const startFlags = (): ReadonlyArray<string> => scripts().start.split(/\s+/).filter((word) => word.startsWith("--"))

/** The packages `build:server` leaves out of the bundle (its `--external:` flags). */
export const serverExternals = (): ReadonlyArray<string> =>
  scripts()["build:server"].split(/\s+/).flatMap((word) => word.startsWith("--external:") ? [word.slice(11)] : [])

/** A bundle of the service built as `build:server` builds it, and what is in it. */
export interface Bundle {
  readonly main: string
  /** The text of every file of the bundle. */
  readonly code: ReadonlyArray<{ readonly file: string; readonly text: string }>
}

/**
 * `src/main.ts` bundled as `build:server` bundles it (the same externals, split into chunks),
 * under node_modules/.cache (so its external packages resolve), removed with the scope.
 */
export const bundleService: Effect.Effect<Bundle, Error, Scope.Scope> = Effect.gen(function*() {
  const outdir = Path.join(root, "node_modules", ".cache", `task-api-test-${Crypto.randomBytes(6).toString("hex")}`)
  yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        build({
          entryPoints: [Path.join(root, "src/main.ts")],
          bundle: true,
          splitting: true,
          platform: "node",
          format: "esm",
          target: "node20",
          external: [...serverExternals()],
          outExtension: { ".js": ".mjs" },
          outdir,
          logLevel: "warning"
        }),
      catch: (error) => new Error(`esbuild: ${String(error)}`)
    }),
    () => Effect.sync(() => Fs.rmSync(outdir, { recursive: true, force: true }))
  )
  const code = Fs.readdirSync(outdir)
    .filter((file) => file.endsWith(".mjs"))
    .map((file) => ({ file, text: Fs.readFileSync(Path.join(outdir, file), "utf8") }))
  return { main: Path.join(outdir, "main.mjs"), code }
})

/**
 * The service as `npm start` runs it: the bundle above under plain node with the node flags of
 * the `start` script, read from package.json. For tests that measure the process (RSS): tsx's
 * loader alone adds ~120 MB.
 */
export const startBundled = (env: NodeJS.ProcessEnv): Effect.Effect<Service, Error, Scope.Scope> =>
  Effect.flatMap(bundleService, (bundle) => startNode([...startFlags(), bundle.main], env))
