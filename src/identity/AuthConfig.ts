import { Config, ConfigError, Duration, Either, Option, Redacted } from "effect"

/**
 * Identity settings (CONTRACT.md, "Version 2: identity"). Every combination that cannot do
 * what the operator meant fails at start-up with one sentence, rather than running open or
 * refusing every token later.
 */

/** RFC 7518 §3.2: an HMAC key shorter than the hash output weakens it; HS256 needs 32 bytes. */
export const MIN_SECRET_BYTES = 32

/**
 * Which verifiers are configured. `open`: neither (version 1, anyone acts for anyone);
 * `secret`: HS* tokens and the service's own accounts; `keySet`: an identity provider's
 * RS/PS/ES/EdDSA tokens; `both`.
 */
export type AuthMode = "open" | "secret" | "keySet" | "both"

const secret = Config.option(Config.redacted("AUTH_JWT_SECRET")).pipe(
  Config.mapOrFail((value) =>
    Option.isSome(value) && Buffer.byteLength(Redacted.value(value.value), "utf8") < MIN_SECRET_BYTES
      ? Either.left(
        ConfigError.InvalidData(
          ["AUTH_JWT_SECRET"],
          `Expected at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 48\`), got a shorter secret`
        )
      )
      : Either.right(value)
  )
)

const jwksUrl = Config.option(Config.string("AUTH_JWKS_URL")).pipe(
  Config.mapOrFail((value) => {
    if (Option.isNone(value)) return Either.right(Option.none<URL>())
    const url = URL.canParse(value.value) ? new URL(value.value) : undefined
    return url !== undefined && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== ""
      ? Either.right(Option.some(url))
      : Either.left(ConfigError.InvalidData(["AUTH_JWKS_URL"], "Expected an http:// or https:// URL of a JSON Web Key Set"))
  })
)

const nonEmpty = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Config.mapOrFail((value) =>
      Option.isSome(value) && value.value.trim() === ""
        ? Either.left(ConfigError.InvalidData([name], "Expected a non-empty value"))
        : Either.right(value)
    )
  )

const tokenTtl = Config.duration("AUTH_TOKEN_TTL").pipe(
  Config.validate({
    message: "Expected a duration of whole seconds, at least 1 second, e.g. \"24 hours\" or \"900 seconds\"",
    validation: (value) => Duration.toSeconds(value) >= 1 && Number.isInteger(Duration.toSeconds(value))
  }),
  Config.withDefault(Duration.hours(24))
)

const hashConcurrency = Config.integer("AUTH_HASH_CONCURRENCY").pipe(
  Config.validate({ message: "Expected a positive integer", validation: (n) => n > 0 }),
  Config.withDefault(2)
)

/** Claims that the service's own tokens use for something else than the user id. */
const reservedClaims = ["iss", "aud", "exp", "nbf", "iat", "jti", "email"]

const raw = Config.all({
  secret,
  jwksUrl,
  issuer: nonEmpty("AUTH_ISSUER"),
  audience: nonEmpty("AUTH_AUDIENCE"),
  userClaim: nonEmpty("AUTH_USER_CLAIM").pipe(
    Config.validate({
      message: `AUTH_USER_CLAIM: expected a claim name other than ${reservedClaims.join(", ")} (those mean something else)`,
      validation: Option.match({ onNone: () => true, onSome: (name) => !reservedClaims.includes(name) })
    })
  ),
  mapSubjects: Config.boolean("AUTH_MAP_SUBJECTS").pipe(Config.withDefault(false)),
  tokenTtl,
  hashConcurrency
})

const modeOf = (secretSet: boolean, keySetSet: boolean): AuthMode =>
  secretSet ? (keySetSet ? "both" : "secret") : keySetSet ? "keySet" : "open"

export const AuthConfig = raw.pipe(
  Config.mapOrFail((config) => {
    const mode = modeOf(Option.isSome(config.secret), Option.isSome(config.jwksUrl))
    if (mode === "open") {
      // A setting that only means something to a verifier is a sign of a forgotten secret or
      // key set: running open would silently let anyone act for anyone.
      const stray = [
        Option.isSome(config.issuer) ? "AUTH_ISSUER" : undefined,
        Option.isSome(config.audience) ? "AUTH_AUDIENCE" : undefined,
        Option.isSome(config.userClaim) ? "AUTH_USER_CLAIM" : undefined,
        config.mapSubjects ? "AUTH_MAP_SUBJECTS" : undefined
      ].filter((name) => name !== undefined)
      if (stray.length > 0) {
        return Either.left(
          ConfigError.InvalidData(
            [],
            `${stray.join(", ")} ${stray.length === 1 ? "is" : "are"} set but neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is, so no token would be verified`
          )
        )
      }
    }
    return Either.right({
      mode,
      secret: config.secret,
      jwksUrl: config.jwksUrl,
      issuer: config.issuer,
      audience: config.audience,
      userClaim: Option.getOrElse(config.userClaim, () => "sub"),
      mapSubjects: config.mapSubjects,
      tokenTtl: config.tokenTtl,
      hashConcurrency: config.hashConcurrency
    })
  })
)
export type AuthConfig = Config.Config.Success<typeof AuthConfig>
