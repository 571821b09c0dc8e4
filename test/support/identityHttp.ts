/**
 * Helpers of the black-box identity tests: requests with a bearer token, and the checks every
 * 401 of the contract's identity table must pass (envelope, challenge, no token echoed).
 */
import { expect } from "@effect/vitest"
import { Schema } from "effect"
import { AccessToken, Me, SignedUp } from "../../src/identity/Api.ts"
import type * as Http from "node:http"
import { type Answer, asError } from "./http.ts"

export const SECRET = "a-black-box-secret-that-is-long-enough-for-hs256"
export const OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256!!!"

export const bearer = (token: string): Http.OutgoingHttpHeaders => ({ authorization: `Bearer ${token}` })

export type TokenCode = "MISSING_TOKEN" | "INVALID_TOKEN" | "EXPIRED_TOKEN"

/**
 * A 401 of the identity table: the envelope with its code, the RFC 6750 challenge
 * (`error="invalid_token"` unless the token is missing), not stored, and no part of the
 * token in the body.
 */
export const expectTokenRefused = (answer: Answer, code: TokenCode, token = ""): void => {
  expect([answer.status, answer.text]).toEqual([401, expect.any(String)])
  const error = asError(answer)
  expect(error.code).toBe(code)
  expect(error.message.length).toBeGreaterThan(0)
  expect(answer.headers["www-authenticate"]).toBe(code === "MISSING_TOKEN" ? "Bearer" : "Bearer error=\"invalid_token\"")
  expect(answer.headers["cache-control"]).toBe("no-store")
  for (const part of token.split(".").filter((part) => part.length >= 6)) {
    expect(answer.text).not.toContain(part)
  }
}

/** The bodies as the API's own schemas: decoding them is the proof of their shape. */
export const asSignedUp = (answer: Answer) => Schema.decodeUnknownSync(SignedUp, { onExcessProperty: "error" })(answer.json)
export const asAccessToken = (answer: Answer) => Schema.decodeUnknownSync(AccessToken, { onExcessProperty: "error" })(answer.json)
export const asMe = (answer: Answer) => Schema.decodeUnknownSync(Me, { onExcessProperty: "error" })(answer.json)
