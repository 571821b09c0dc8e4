import type * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import { Redacted } from "effect"
import type * as Http from "node:http"

/**
 * Reads the credential of one security scheme from a request, as `HttpApiBuilder.securityDecode`
 * does, with stricter parsing: a missing or malformed credential is the empty one, which the
 * middleware then refuses (so "no token" and "not a Bearer token" reach it the same way).
 *
 * - bearer: `Authorization: Bearer <token>`, the scheme name in any case (RFC 9110 §11.1).
 *   `HttpApiBuilder` takes whatever follows the header's first seven characters, whatever the scheme.
 * - api key: the header, query parameter or cookie named by the scheme.
 * - basic: `Authorization: Basic base64(user:password)`; the password may contain colons.
 */
export type Credential = Redacted.Redacted<string> | { readonly username: string; readonly password: Redacted.Redacted<string> }

const empty = Redacted.make("")
const bearer = /^bearer(?:[ \t]+(.*))?$/is
const basic = /^basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i

const authorization = (request: Http.IncomingMessage): string => request.headers.authorization ?? ""

const cookie = (request: Http.IncomingMessage, name: string): string => {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=")
    if (at !== -1 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim())
      } catch {
        return ""
      }
    }
  }
  return ""
}

export const credentialOf = (
  security: HttpApiSecurity.HttpApiSecurity,
  request: Http.IncomingMessage,
  query: string
): Credential => {
  switch (security._tag) {
    case "Bearer": {
      // Whatever follows the scheme is the credential, malformed or not (the middleware then
      // refuses it as invalid); only the scheme alone, or another scheme, is no credential.
      const match = bearer.exec(authorization(request).trim())
      return match === null ? empty : Redacted.make((match[1] ?? "").trim())
    }
    case "ApiKey": {
      const value = security.in === "header"
        ? request.headers[security.key.toLowerCase()]
        : security.in === "query"
        ? new URLSearchParams(query).get(security.key)
        : cookie(request, security.key)
      return typeof value === "string" ? Redacted.make(value) : empty
    }
    case "Basic": {
      const match = basic.exec(authorization(request))
      const decoded = match === null ? "" : Buffer.from(match[1]!, "base64").toString("utf8")
      const colon = decoded.indexOf(":")
      return colon === -1
        ? { username: "", password: empty }
        : { username: decoded.slice(0, colon), password: Redacted.make(decoded.slice(colon + 1)) }
    }
  }
}
