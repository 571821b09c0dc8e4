import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { documentJson } from "./api/Document.ts"

/** `npm run openapi`: rewrites the committed `openapi.json` from the `Api` description. */
const target = fileURLToPath(new URL("../openapi.json", import.meta.url))
writeFileSync(target, documentJson)
process.stdout.write(`Wrote ${target}\n`)
