import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Option, type ParseResult, Schema } from "effect"
import { Api } from "../src/api/Api.ts"
import { Task, TaskIdFromPath, UserIdFromPath } from "../src/domain/index.ts"
import { decoder, encoder, hasFastPath } from "../src/schema/Compile.ts"

/**
 * The compiled codecs must answer exactly as Schema does: the same success value, or a
 * failure (theirs is Schema's own). Checked on valid values, on valid values with one field
 * broken or removed, and on anything at all.
 */

/** Any schema of this API, as the codecs see it: an AST. */
const opaque = (schema: Schema.Schema.All): Schema.Schema<unknown, unknown> => Schema.make(schema.ast)

/** Every schema an endpoint decodes or encodes with: path, payload, success. */
const endpointSchemas = Object.values(Api.groups).flatMap((group) =>
  Object.values(group.endpoints).flatMap((endpoint) => {
    const name = `${group.identifier}.${endpoint.name}`
    const path: Option.Option<Schema.Schema.All> = endpoint.pathSchema
    const payload: Option.Option<Schema.Schema.All> = endpoint.payloadSchema
    return [
      { name: `${name} success`, schema: opaque(endpoint.successSchema) },
      ...Option.toArray(path).map((schema) => ({ name: `${name} path`, schema: opaque(schema) })),
      ...Option.toArray(payload).map((schema) => ({ name: `${name} payload`, schema: opaque(schema) }))
    ]
  })
)

const schemas: ReadonlyArray<{ readonly name: string; readonly schema: Schema.Schema<unknown, unknown> }> = [
  ...endpointSchemas,
  { name: "Task rows", schema: opaque(Schema.Array(Schema.typeSchema(Task))) },
  { name: "a union of literals and refinements", schema: opaque(Schema.Union(Schema.Literal("a"), Schema.NullOr(Schema.Int))) }
]

const sameAnswer = <A>(
  fast: Either.Either<A, ParseResult.ParseError>,
  reference: Either.Either<A, ParseResult.ParseError>
) => {
  expect(Either.isRight(fast)).toBe(Either.isRight(reference))
  if (Either.isRight(fast) && Either.isRight(reference)) expect(fast.right).toStrictEqual(reference.right)
  if (Either.isLeft(fast) && Either.isLeft(reference)) expect(fast.left.message).toBe(reference.left.message)
}

/** A value, or the value with one of its fields replaced by anything, or removed. */
const damaged = <A>(valid: fc.Arbitrary<A>): fc.Arbitrary<unknown> =>
  fc.oneof(
    valid,
    fc.tuple(valid, fc.nat(), fc.anything(), fc.boolean()).map(([value, pick, junk, remove]) => {
      if (typeof value !== "object" || value === null) return junk
      const target: Record<string, unknown> = Array.isArray(value)
        ? (value[pick % Math.max(value.length, 1)] ?? {})
        : { ...value }
      const keys = Object.keys(target)
      const key = keys[pick % Math.max(keys.length, 1)] ?? "extra"
      if (remove) delete target[key]
      else target[key] = junk
      return Array.isArray(value) ? value : target
    }),
    fc.anything()
  )

describe("compiled codecs", () => {
  it("take the fast path for the tasks' responses, rows and paths", () => {
    expect(hasFastPath(Schema.Array(Task), "encode")).toBe(true)
    expect(hasFastPath(Task, "encode")).toBe(true)
    expect(hasFastPath(Schema.Array(Schema.typeSchema(Task)), "decode")).toBe(true)
    expect(hasFastPath(Schema.Struct({ user_id: UserIdFromPath, task_id: TaskIdFromPath }), "decode")).toBe(true)
  })

  it("refinements are encoded as Schema encodes them: the whole value checked first", () => {
    // The filter sees the value as the type side decodes it (unknown keys dropped)...
    const needsB = Schema.Struct({ a: Schema.Number }).pipe(Schema.filter((o) => "b" in o))
    sameAnswer(encoder(needsB)({ a: 1, b: 2 }), Schema.encodeUnknownEither(needsB)({ a: 1, b: 2 }))
    // ...and before any transformation under it runs.
    const firstUpper = Schema.transform(Schema.String, Schema.Array(Schema.String), {
      strict: true,
      decode: (text) => [text],
      encode: (list) => list[0]!.toUpperCase()
    }).pipe(Schema.filter((list) => list.length > 0))
    sameAnswer(encoder(firstUpper)([]), Schema.encodeUnknownEither(firstUpper)([]))
    sameAnswer(encoder(firstUpper)(["a"]), Schema.encodeUnknownEither(firstUpper)(["a"]))
  })

  it("an empty struct answers as Schema does", () => {
    const empty = Schema.Struct({})
    sameAnswer(decoder(empty)({ a: 1 }), Schema.decodeUnknownEither(empty)({ a: 1 }))
    sameAnswer(encoder(empty)({ a: 1 }), Schema.encodeUnknownEither(empty)({ a: 1 }))
  })

  it("path ids: the edge spellings decode as Schema decodes them", () => {
    const path = Schema.Struct({ user_id: UserIdFromPath, task_id: TaskIdFromPath })
    const decode = decoder(path)
    const reference = Schema.decodeUnknownEither(path)
    for (const text of ["1", "0", "-1", "01", "007", "1e3", "+1", " 1", "1 ", "1.0", "2147483647", "2147483648", "", "abc", "١٢", "0x10"]) {
      sameAnswer(decode({ user_id: text, task_id: "5" }), reference({ user_id: text, task_id: "5" }))
      sameAnswer(decode({ user_id: "5", task_id: text }), reference({ user_id: "5", task_id: text }))
    }
  })

  for (const { name, schema } of schemas) {
    it(`${name}: encoding answers as Schema does`, () => {
      const encode = encoder(schema)
      const reference = Schema.encodeUnknownEither(schema)
      fc.assert(fc.property(damaged(Arbitrary.make(schema)), (value) => sameAnswer(encode(value), reference(value))), {
        numRuns: 300
      })
    })

    it(`${name}: decoding answers as Schema does`, () => {
      const decode = decoder(schema)
      const reference = Schema.decodeUnknownEither(schema)
      const encoded = Arbitrary.make(schema).map((value) => Either.getOrElse(Schema.encodeUnknownEither(schema)(value), () => value))
      fc.assert(fc.property(damaged(encoded), (value) => sameAnswer(decode(value), reference(value))), { numRuns: 300 })
    })
  }
})
