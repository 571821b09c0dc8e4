import { Effect, Schema, type Scope } from "effect"
import { build } from "esbuild"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type Service, startNode } from "./service.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))

/**
 * The service as `npm start` runs it: an esbuild bundle of `src/main.ts` (built as
 * `build:server` builds it) under plain node with the node flags of the `start` script, read
 * from package.json. For tests that measure the process (RSS): tsx's loader alone adds ~120 MB.
 * The bundle goes under node_modules/.cache (so its packages resolve) and is removed with the scope.
 */
export const startBundled = (env: NodeJS.ProcessEnv): Effect.Effect<Service, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const outdir = Path.join(root, "node_modules", ".cache", `task-api-test-${Crypto.randomBytes(6).toString("hex")}`)
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          build({
            entryPoints: [Path.join(root, "src/main.ts")],
            bundle: true,
            platform: "node",
            format: "esm",
            target: "node20",
            packages: "external",
            outExtension: { ".js": ".mjs" },
            outdir,
            logLevel: "warning"
          }),
        catch: (error) => new Error(`esbuild: ${String(error)}`)
      }),
      () => Effect.sync(() => Fs.rmSync(outdir, { recursive: true, force: true }))
    )
    return yield* startNode([...startFlags(), Path.join(outdir, "main.mjs")], env)
  })

const PackageScripts = Schema.Struct({ scripts: Schema.Struct({ start: Schema.String }) })

/** The node flags of package.json's `start` script (`node <flags> dist/main.js`). */
const startFlags = (): ReadonlyArray<string> => {
  const { scripts } = Schema.decodeUnknownSync(Schema.parseJson(PackageScripts))(
    Fs.readFileSync(Path.join(root, "package.json"), "utf8")
  )
  return scripts.start.split(/\s+/).filter((word) => word.startsWith("--"))
}
