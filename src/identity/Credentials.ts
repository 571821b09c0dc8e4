import { Schema } from "effect"
import { rule } from "../domain/Validation.ts"

/**
 * The bodies of `POST /auth/signup` and `POST /auth/signin`, as schemas for the API
 * description (which imports nothing but `effect` and `src/domain` from here). Their rules
 * name the fields `email` and `password` in a validation error.
 */

export const EMAIL_MAX_LENGTH = 254
export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

/**
 * The HTML standard's "valid email address" (what `<input type=email>` accepts), plus
 * RFC 5321's 64 octets for the local part: ASCII only, so lower-casing cannot map a
 * look-alike character onto another address (the Kelvin sign lower-cases to "k"), no quoted
 * local parts, no IP-literal domains. A domain without a dot (`ann@localhost`) is valid.
 */
const EMAIL_PATTERN =
  /^(?=[^@]{1,64}@)[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/

const string = Schema.String.annotations(rule({ constraint: "type", expected: "a string" }))

const trimmed = Schema.transform(string, Schema.String, {
  strict: true,
  decode: (text) => text.trim(),
  encode: (text) => text
})

const lowerCased = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (text) => text.toLowerCase(),
  encode: (text) => text
})

/** Trimmed, checked, then lower-cased: what is stored and compared. */
export const Email = trimmed.pipe(
  Schema.filter((text) => text !== "", rule({ constraint: "non_empty" })),
  Schema.filter((text) => text.length <= EMAIL_MAX_LENGTH, {
    ...rule({ constraint: "max_length", max: EMAIL_MAX_LENGTH })
  }),
  Schema.filter((text) => EMAIL_PATTERN.test(text), rule({ constraint: "type", expected: "an email address" })),
  Schema.compose(lowerCased)
).annotations({
  description: "An email address (ASCII), at most 254 characters; stored trimmed and lower-cased",
  jsonSchema: { type: "string", format: "email", maxLength: EMAIL_MAX_LENGTH }
})

/** Code points, as the contract counts characters; an unpaired surrogate has no UTF-8 form to hash. */
const codePoints = (text: string): number => {
  let length = 0
  for (const _ of text) length++
  return length
}

export const Password = string.pipe(
  Schema.filter((text) => text.isWellFormed(), rule({ constraint: "type", expected: "text without unpaired surrogates" })),
  Schema.filter((text) => codePoints(text) >= PASSWORD_MIN_LENGTH, rule({ constraint: "min_length", min: PASSWORD_MIN_LENGTH })),
  Schema.filter((text) => text.length <= PASSWORD_MAX_LENGTH || codePoints(text) <= PASSWORD_MAX_LENGTH, {
    ...rule({ constraint: "max_length", max: PASSWORD_MAX_LENGTH })
  })
).annotations({
  description: "8 to 128 characters",
  jsonSchema: { type: "string", minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }
})

const objectRule = rule({ constraint: "type", expected: "a JSON object" })

export const SignUpPayload = Schema.Struct({ email: Email, password: Password })
  .annotations({ ...objectRule, identifier: "SignUpPayload" })
export interface SignUpPayload extends Schema.Schema.Type<typeof SignUpPayload> {}

/**
 * Sign-in only needs strings: an address or password that sign-up would refuse matches no
 * account, and answers as any wrong credentials do. The email is normalised as at sign-up.
 */
export const SignInPayload = Schema.Struct({
  email: Schema.compose(trimmed, lowerCased),
  password: string
}).annotations({ ...objectRule, identifier: "SignInPayload" })
export interface SignInPayload extends Schema.Schema.Type<typeof SignInPayload> {}

/** Whether a normalised email could belong to an account (sign-up's rules, lower case passes them too). */
export const isAccountEmail = (email: string): boolean => email.length <= EMAIL_MAX_LENGTH && EMAIL_PATTERN.test(email)
export const isAccountPassword = Schema.is(Password)
