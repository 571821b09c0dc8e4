import { Either, Option, ParseResult, Predicate, Schema, SchemaAST } from "effect"
import { isoString } from "./IsoTime.ts"

/**
 * Decoders and encoders compiled from a schema's AST, for the hot paths (rows read from
 * PostgreSQL, response bodies). Schema's own interpreter is general and allocates for every
 * node it visits; encoding a list of 20 tasks cost ~46 µs, two thirds of it in the
 * `Date` ↔ ISO string transformation's wrappers, where the same work written out costs ~18 µs.
 *
 * The compiled function walks the same AST and calls the same refinement filters,
 * declarations and transformations, so the schema stays the one definition. It only has a
 * fast path for the node kinds listed in `compile`; a schema with any other node is left
 * to Schema entirely. And it only ever answers success: when the fast path meets a value it
 * cannot accept, Schema's own function runs and gives the answer (and the error message).
 * A property test checks that both agree.
 */
const Fail: unique symbol = Symbol("Fail")
type Fast = (input: unknown) => unknown

const options = SchemaAST.defaultParseOption

/** `Schema.DateFromString`'s transformation, which `Schema.Date` and its annotations share. */
const dateFromStringAst = Schema.DateFromString.ast
const dateFromString = SchemaAST.isTransformation(dateFromStringAst) ? dateFromStringAst.transformation : undefined

/** A transformation, declaration or filter result, when it is plain success. */
const rightOf = (result: unknown): unknown =>
  Either.isEither(result) && Either.isRight(result) ? result.right : Fail

/** A struct (or a class, through its surrogate), under any refinements and transformations. */
const isStructLike = (ast: SchemaAST.AST): boolean => {
  switch (ast._tag) {
    case "TypeLiteral":
      return true
    case "Declaration":
      return Option.isSome(SchemaAST.getSurrogateAnnotation(ast))
    case "Refinement":
      return isStructLike(ast.from)
    case "Transformation":
      return isStructLike(ast.from) || isStructLike(ast.to)
    case "Union":
      return ast.types.some(isStructLike)
    default:
      return false
  }
}

const underRefinements = (ast: SchemaAST.AST): SchemaAST.AST =>
  SchemaAST.isRefinement(ast) ? underRefinements(ast.from) : ast

const compileAll = (asts: ReadonlyArray<SchemaAST.AST>, isDecoding: boolean): ReadonlyArray<Fast> | undefined => {
  const compiled: Array<Fast> = []
  for (const ast of asts) {
    const fast = compile(ast, isDecoding)
    if (fast === undefined) return undefined
    compiled.push(fast)
  }
  return compiled
}

const compile = (ast: SchemaAST.AST, isDecoding: boolean): Fast | undefined => {
  // Annotations that change how parsing behaves are not modelled here.
  if (ast.annotations[SchemaAST.ParseOptionsAnnotationId] !== undefined) return undefined
  switch (ast._tag) {
    case "StringKeyword":
      return (input) => typeof input === "string" ? input : Fail
    case "NumberKeyword":
      return (input) => typeof input === "number" ? input : Fail
    case "BooleanKeyword":
      return (input) => typeof input === "boolean" ? input : Fail
    case "Literal": {
      const literal = ast.literal
      return (input) => input === literal ? input : Fail
    }
    case "Union": {
      // Schema picks among members that carry literal-valued properties (tagged structs) by
      // those values, not in declared order; only unions without struct members are compiled.
      if (ast.types.some(isStructLike)) return undefined
      const members = compileAll(ast.types, isDecoding)
      if (members === undefined) return undefined
      // Schema's union answers with the first member that accepts the value.
      return (input) => {
        for (const member of members) {
          const output = member(input)
          if (output !== Fail) return output
        }
        return Fail
      }
    }
    case "Refinement": {
      if (isDecoding) {
        const from = compile(ast.from, true)
        if (from === undefined) return undefined
        const refinement = ast
        return (input) => {
          const output = from(input)
          if (output === Fail) return Fail
          return Option.isNone(refinement.filter(output, options, refinement)) ? output : Fail
        }
      }
      // As Schema encodes a refinement: the value is first checked as a whole against the
      // type side (this filter included), then encoded by what is under the refinements.
      const check = compile(SchemaAST.typeAST(ast), true)
      const encode = compile(underRefinements(ast.from), false)
      if (check === undefined || encode === undefined) return undefined
      return (input) => check(input) === Fail ? Fail : encode(input)
    }
    case "Declaration": {
      const parse = isDecoding
        ? ast.decodeUnknown(...ast.typeParameters)
        : ast.encodeUnknown(...ast.typeParameters)
      const declaration = ast
      return (input) => rightOf(parse(input, options, declaration))
    }
    case "Transformation": {
      const first = compile(isDecoding ? ast.from : ast.to, isDecoding)
      const last = compile(isDecoding ? ast.to : ast.from, isDecoding)
      if (first === undefined || last === undefined) return undefined
      // `Schema.compose`: the two sides meet unchanged.
      if (SchemaAST.isComposeTransformation(ast.transformation)) {
        return (input) => {
          const a = first(input)
          return a === Fail ? Fail : last(a)
        }
      }
      // Property renames and defaults (`TypeLiteralTransformation`) are left to Schema.
      if (!SchemaAST.isFinalTransformation(ast.transformation)) return undefined
      const transform = isDecoding ? ast.transformation.decode : ast.transformation.encode
      const transformation = ast
      // A Date written as its ISO string, in arithmetic: ~4× `toISOString` (`IsoTime.ts`).
      if (!isDecoding && ast.transformation === dateFromString) {
        return (input) => {
          const a = first(input)
          if (a === Fail) return Fail
          const b = (a instanceof Date ? isoString(a) : undefined) ??
            rightOf(transform(a, options, transformation, input))
          return b === Fail ? Fail : last(b)
        }
      }
      return (input) => {
        const a = first(input)
        if (a === Fail) return Fail
        const b = rightOf(transform(a, options, transformation, input))
        return b === Fail ? Fail : last(b)
      }
    }
    case "TypeLiteral": {
      // Schema answers `{}` with the value itself, and index signatures are not modelled.
      if (ast.propertySignatures.length === 0 || ast.indexSignatures.length > 0) return undefined
      const parsers = compileAll(ast.propertySignatures.map((property) => property.type), isDecoding)
      if (parsers === undefined) return undefined
      const properties = ast.propertySignatures.map((property, i) => ({
        name: property.name,
        isOptional: property.isOptional,
        parse: parsers[i]!
      }))
      // Declared keys only, in declared order; unknown keys are dropped, as Schema does by default.
      return (input) => {
        if (!Predicate.isRecord(input)) return Fail
        const output: Record<PropertyKey, unknown> = {}
        for (const property of properties) {
          if (!Object.prototype.hasOwnProperty.call(input, property.name)) {
            if (property.isOptional) continue
            return Fail
          }
          const value = property.parse(input[property.name])
          if (value === Fail) return Fail
          output[property.name] = value
        }
        return output
      }
    }
    case "TupleType": {
      // Arrays only: no fixed elements, one rest type.
      const [rest, ...more] = ast.rest
      if (ast.elements.length > 0 || rest === undefined || more.length > 0) return undefined
      const item = compile(rest.type, isDecoding)
      if (item === undefined) return undefined
      return (input) => {
        if (!Array.isArray(input)) return Fail
        const output: Array<unknown> = new Array(input.length)
        for (let i = 0; i < input.length; i++) {
          const value = item(input[i])
          if (value === Fail) return Fail
          output[i] = value
        }
        return output
      }
    }
    default:
      return undefined
  }
}

const withFallback = <A>(
  fast: Fast | undefined,
  schema: (u: unknown) => Either.Either<A, ParseResult.ParseError>
): (u: unknown) => Either.Either<A, ParseResult.ParseError> => {
  if (fast === undefined) return schema
  return (u) => {
    const output = fast(u)
    // The fast path accepted the value by the schema's own rules, so its output has the type.
    return output === Fail ? schema(u) : Either.right(output as A)
  }
}

/** `Schema.decodeUnknownEither`, compiled. */
export const decoder = <A, I>(schema: Schema.Schema<A, I>): (u: unknown) => Either.Either<A, ParseResult.ParseError> =>
  withFallback(compile(schema.ast, true), Schema.decodeUnknownEither(schema))

/** `Schema.encodeUnknownEither`, compiled. */
export const encoder = <A, I>(schema: Schema.Schema<A, I>): (u: unknown) => Either.Either<I, ParseResult.ParseError> =>
  withFallback(compile(schema.ast, false), Schema.encodeUnknownEither(schema))

/** Whether `schema` gets a fast path in that direction (for tests: the rest falls back to Schema). */
export const hasFastPath = (schema: Schema.Schema.All, direction: "decode" | "encode"): boolean =>
  compile(schema.ast, direction === "decode") !== undefined
