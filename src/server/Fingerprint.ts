import { createHash } from "node:crypto"

/**
 * Identifies a request body by its JSON value, so that key order and white space do not
 * matter (CONTRACT: a retried create with "the same body"): keys sorted at every level, then
 * SHA-256 of that text.
 */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>
    return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

export const fingerprint = (json: unknown): string => createHash("sha256").update(canonical(json)).digest("base64url")
