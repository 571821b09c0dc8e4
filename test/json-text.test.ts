import { describe, expect, it, vi } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema, SchemaAST } from "effect"
import { Api } from "../src/api/Api.ts"
import { jsonWriter } from "../src/schema/JsonText.ts"

/** Every schema an endpoint answers with, and the element of each array among them. */
const responseSchemas = Object.values(Api.groups).flatMap((group) =>
  Object.values(group.endpoints).flatMap((endpoint) => {
    const name = `${group.identifier}.${endpoint.name}`
    // The errors' union holds a `never` (HttpApi's own decode error) and declarations without
    // a body (`NotModified`), which no arbitrary makes: its other members are checked one by one.
    const errors: ReadonlyArray<SchemaAST.AST> = SchemaAST.isUnion(endpoint.errorSchema.ast)
      ? endpoint.errorSchema.ast.types
      : [endpoint.errorSchema.ast]
    return [
      { name: `${name} success`, schema: Schema.make<unknown, unknown>(endpoint.successSchema.ast) },
      ...errors
        .map((ast) => Schema.make<unknown, unknown>(ast))
        .filter((schema) => Either.isRight(Either.try(() => Arbitrary.make(schema))))
        .map((schema, i) => ({ name: `${name} error ${i}`, schema }))
    ]
  })
)

/** The writer's text, or the error it threw; the same for JSON.stringify. */
const outcome = (write: (value: unknown) => string | undefined, value: unknown) => {
  try {
    return { text: write(value) }
  } catch (error) {
    return { threw: String(error) }
  }
}

const same = (write: (value: unknown) => string, value: unknown): void => {
  expect(outcome(write, value)).toStrictEqual(outcome((v) => JSON.stringify(v), value))
}

const Item = Schema.Struct({
  id: Schema.Int,
  name: Schema.String,
  note: Schema.optional(Schema.NullOr(Schema.String)),
  kind: Schema.Literal("a", "b", 3, true, null),
  tags: Schema.Array(Schema.String),
  at: Schema.Date
})

describe("JSON text written from the schema", () => {
  for (const { name, schema } of responseSchemas) {
    it(`${name}: the same text as JSON.stringify, for its values and for anything`, () => {
      const write = jsonWriter(schema.ast)
      const encoded = Arbitrary.make(schema).map((value) =>
        Either.getOrElse(Schema.encodeUnknownEither(schema)(value), () => value)
      )
      fc.assert(fc.property(fc.oneof(encoded, fc.anything()), (value) => same(write, value)), { numRuns: 300 })
    })
  }

  it("writes the text of every value JSON.stringify treats specially", () => {
    const write = jsonWriter(Item.ast)
    const valid = { id: 1, name: "x", note: null, kind: "a", tags: ["p", "q"], at: "2026-12-01T00:00:00.000Z" }
    const { note: _note, ...withoutNote } = valid
    // A declared key only inherited (JSON.stringify leaves it out), and a toJSON method that
    // for-in does not see (a class's methods are not enumerable).
    const inherited: unknown = Object.assign(Object.create({ note: "inherited" }), withoutNote)
    class Custom {
      toJSON() {
        return "custom"
      }
    }
    const cases: ReadonlyArray<unknown> = [
      valid,
      { ...valid, note: undefined }, // left out
      { ...valid, note: "with \"quotes\", \\, \n, \u0000, \u2028, é, 😀" },
      { ...valid, name: "\ud800 lone" },
      { ...valid, id: -0 },
      { ...valid, id: Number.NaN },
      { ...valid, id: Infinity },
      { ...valid, id: 1e21 },
      { ...valid, extra: 1 }, // a key the schema does not know
      { tags: valid.tags, id: 1, name: "x", note: null, kind: "a", at: valid.at }, // keys in another order
      { ...valid, toJSON: () => "custom" },
      { ...valid, tags: Object.assign(["p"], { toJSON: () => 1 }) },
      { ...valid, tags: [undefined, () => 1] },
      { ...valid, kind: () => 1 },
      { ...valid, kind: Symbol("s") },
      { ...valid, at: new Date(0) }, // a Date where a string was declared: its toJSON
      { ...valid, id: 10n }, // JSON.stringify throws, and so does the writer
      inherited,
      Object.assign(new Custom(), valid),
      { ...valid, tags: Object.assign(new Custom(), { 0: "p" }) },
      [],
      null,
      "text",
      undefined
    ]
    for (const value of cases) same(write, value)
  })

  it("is a fast path for the tasks' answers: it writes them without JSON.stringify", () => {
    const write = jsonWriter(Schema.Array(Item).ast)
    const value = [{ id: 1, name: "x", kind: null, tags: ["p"], at: "2026-12-01T00:00:00.000Z" }]
    const expected = JSON.stringify(value)
    const stringify = vi.spyOn(JSON, "stringify")
    try {
      expect(write(value)).toBe(expected)
      expect(stringify).not.toHaveBeenCalled()
    } finally {
      stringify.mockRestore()
    }
  })
})
