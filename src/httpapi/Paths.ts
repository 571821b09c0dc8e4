/**
 * Path patterns as `HttpApiEndpoint` writes them (the syntax of `HttpRouter`): literal segments,
 * `:name` parameters, an optional `:name?` parameter and a `*` wildcard, each a whole segment
 * and the last two only at the end. Anything else (`::`, `:a-:b`, regular expressions) is refused
 * when the server is built, with a sentence saying why.
 *
 * Matching is most-specific-first, per method as `HttpRouter` does: at the first segment where
 * two patterns differ, a literal beats a parameter, which beats an optional one, which beats the
 * wildcard; `/users/me` is matched before `/users/:id`.
 */
type Segment =
  | { readonly _tag: "Literal"; readonly text: string }
  | { readonly _tag: "Param"; readonly name: string }
  | { readonly _tag: "Optional"; readonly name: string }
  | { readonly _tag: "Wildcard" }

export interface Pattern {
  readonly path: string
  readonly segments: ReadonlyArray<Segment>
}

const rank: Record<Segment["_tag"], number> = { Literal: 0, Param: 1, Optional: 2, Wildcard: 3 }

const paramName = /^:([A-Za-z_$][\w$]*)(\?)?$/

/** Parses a path pattern, or returns why this server cannot serve it. */
export const parse = (path: string): Pattern | string => {
  if (!path.startsWith("/")) return `path ${path} does not start with "/"`
  const parts = path.split("/").slice(1)
  const segments: Array<Segment> = []
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const last = i === parts.length - 1
    if (part === "*") {
      if (!last) return `path ${path}: a wildcard is only served as the last segment`
      segments.push({ _tag: "Wildcard" })
    } else if (part.startsWith(":")) {
      const match = paramName.exec(part)
      if (match === null) return `path ${path}: the segment "${part}" is not a plain parameter (":name")`
      if (match[2] === "?" && !last) return `path ${path}: an optional parameter is only served as the last segment`
      segments.push(match[2] === "?" ? { _tag: "Optional", name: match[1]! } : { _tag: "Param", name: match[1]! })
    } else if (part.includes(":") || part.includes("*") || part.includes("(")) {
      return `path ${path}: the segment "${part}" mixes text with a parameter, wildcard or pattern`
    } else {
      segments.push({ _tag: "Literal", text: part })
    }
  }
  return { path, segments }
}

/** Negative when `a` is more specific than `b`. */
export const compare = (a: Pattern, b: Pattern): number => {
  const length = Math.min(a.segments.length, b.segments.length)
  for (let i = 0; i < length; i++) {
    const difference = rank[a.segments[i]!._tag] - rank[b.segments[i]!._tag]
    if (difference !== 0) return difference
  }
  return b.segments.length - a.segments.length
}

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The path split into decoded segments, once per request. */
export const split = (pathname: string): ReadonlyArray<string> => pathname.split("/").slice(1).map(decodeSegment)

/** The parameters of `parts` under `pattern`, or undefined when it does not match. */
export const match = (pattern: Pattern, parts: ReadonlyArray<string>): Record<string, string> | undefined => {
  const segments = pattern.segments
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const part = parts[i]
    switch (segment._tag) {
      case "Literal":
        if (part !== segment.text) return undefined
        break
      case "Param":
        // An empty segment (`/users/1/tasks/`) names no resource.
        if (part === undefined || part === "") return undefined
        params[segment.name] = part
        break
      case "Optional":
        if (part !== undefined && part !== "") params[segment.name] = part
        else if (part === "") return undefined
        return i + 1 >= parts.length ? params : undefined
      case "Wildcard":
        params["*"] = parts.slice(i).join("/")
        return params
    }
  }
  return parts.length === segments.length ? params : undefined
}
