import { Option, ParseResult, SchemaAST } from "effect"

/**
 * The fields a validation error can name, in the order the contract lists them (the error
 * envelope's schema is built from this list too). `body` stands for the request body as a whole.
 */
export const FIELDS = [
  "title",
  "description",
  "completed",
  "user_id",
  "task_id",
  "limit",
  "after",
  "idempotency_key",
  "email",
  "password",
  "body"
] as const
export type Field = typeof FIELDS[number]

/** What a schema promises, written where the schema is declared and read back when it fails. */
export type Rule =
  | { readonly constraint: "required" }
  | { readonly constraint: "non_empty" }
  | { readonly constraint: "max_length"; readonly max: number }
  | { readonly constraint: "min_length"; readonly min: number }
  | { readonly constraint: "type"; readonly expected: string }
  | { readonly constraint: "json" }
  | { readonly constraint: "range"; readonly min: number; readonly max: number }

export const RuleId: unique symbol = Symbol.for("task-api/ValidationRule")

/** Annotations that attach a rule to a schema: `Schema.String.annotations(rule({ ... }))`. */
export const rule = (value: Rule): { readonly [RuleId]: Rule } => ({ [RuleId]: value })

const getRule = (ast: SchemaAST.AST): Option.Option<Rule> => SchemaAST.getAnnotation<Rule>(ast, RuleId)

/** A broken rule, located: what a `ValidationError` carries as its details. */
export type Violation = Rule & { readonly field: Field }

/** The fields a key in a failure's path can name; anything else is reported on the enclosing one. */
const fields: ReadonlySet<string> = new Set<Field>(FIELDS.filter((field) => field !== "body"))

const labels: Record<Field, string> = {
  title: "Task title",
  description: "Task description",
  completed: "Task completion flag",
  user_id: "User id",
  task_id: "Task id",
  limit: "Query parameter limit",
  after: "Query parameter after",
  idempotency_key: "Idempotency-Key header",
  email: "Email",
  password: "Password",
  body: "Request body"
}

/** The human sentence for a violation; the machine-readable part stays in `details`. */
export const describe = (violation: Violation): string => {
  const label = labels[violation.field]
  switch (violation.constraint) {
    case "required":
    case "non_empty":
      return `${label} is required`
    case "max_length":
      return `${label} must be at most ${violation.max} characters long`
    case "min_length":
      return `${label} must be at least ${violation.min} characters long`
    case "type":
      return `${label} must be ${violation.expected}`
    case "json":
      return `${label} is not valid JSON`
    case "range":
      return `${label} must be an integer between ${violation.min} and ${violation.max}`
  }
}

/**
 * Reads the first broken rule out of a decoding failure. Decoding stops at the first
 * failure and visits properties in schema order, so with several bad fields the first
 * declared one is named.
 */
export const violationOf = (issue: ParseResult.ParseIssue, where: Field = "body"): Violation => {
  const found = find(issue, where)
  return found ?? { field: where, constraint: "type", expected: "a JSON object" }
}

const find = (issue: ParseResult.ParseIssue, field: Field): Violation | undefined => {
  switch (issue._tag) {
    case "Pointer": {
      const key = Array.isArray(issue.path) ? issue.path[0] : issue.path
      // Header names are spelled with dashes (`idempotency-key`), fields with underscores.
      const name = typeof key === "string" ? key.replaceAll("-", "_") : undefined
      const next = name !== undefined && fields.has(name) ? (name as Field) : field
      return find(issue.issue, next)
    }
    case "Missing":
      return { field, constraint: "required" }
    case "Refinement":
      return issue.kind === "Predicate"
        ? ruleAt(issue.ast, field) ?? find(issue.issue, field)
        : find(issue.issue, field)
    case "Transformation":
      return find(issue.issue, field)
    case "Composite": {
      const issues: ReadonlyArray<ParseResult.ParseIssue> = isIssueList(issue.issues) ? issue.issues : [issue.issues]
      if (SchemaAST.isUnion(issue.ast)) {
        // A member that accepted the type but broke one of its rules says more than
        // "wrong type"; otherwise the union's own rule names every accepted type.
        const refined = issues.find((inner) => !isTypeMismatch(inner))
        if (refined) return find(refined, field)
        return ruleAt(issue.ast, field) ?? firstOf(issues, field)
      }
      if (SchemaAST.isTypeLiteral(issue.ast) && issues.every((inner) => inner._tag !== "Pointer")) {
        return ruleAt(issue.ast, field) ?? firstOf(issues, field)
      }
      return firstOf(issues, field)
    }
    case "Type":
    case "Forbidden":
      return ruleAt(issue.ast, field)
    case "Unexpected":
      return undefined
  }
}

const isTypeMismatch = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Type":
      return true
    case "Refinement":
      return issue.kind === "From" && isTypeMismatch(issue.issue)
    case "Transformation":
      return isTypeMismatch(issue.issue)
    case "Composite":
      return SchemaAST.isUnion(issue.ast) &&
        (isIssueList(issue.issues) ? issue.issues.every(isTypeMismatch) : isTypeMismatch(issue.issues))
    default:
      return false
  }
}

const isIssueList = (
  issues: ParseResult.SingleOrNonEmpty<ParseResult.ParseIssue>
): issues is readonly [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>] => Array.isArray(issues)

const firstOf = (issues: ReadonlyArray<ParseResult.ParseIssue>, field: Field): Violation | undefined => {
  for (const inner of issues) {
    const found = find(inner, field)
    if (found) return found
  }
  return undefined
}

const ruleAt = (ast: SchemaAST.AST, field: Field): Violation | undefined =>
  Option.match(getRule(ast), { onNone: () => undefined, onSome: (found) => ({ field, ...found }) })
