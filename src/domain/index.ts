export * from "./Errors.ts"
export * from "./Ids.ts"
export * from "./Task.ts"
export * as Validation from "./Validation.ts"
