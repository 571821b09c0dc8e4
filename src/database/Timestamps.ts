import * as Pg from "pg"

/** node-postgres' own `timestamptz` parser (postgres-date 1: a regular expression per value). */
const parseWithPg: (text: string) => unknown = Pg.types.getTypeParser(Pg.types.builtins.TIMESTAMPTZ, "text")

const digits = (text: string, start: number, end: number): number => {
  let value = 0
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return Number.NaN
    value = value * 10 + digit
  }
  return value
}

/**
 * `timestamptz` as PostgreSQL writes it with `DateStyle` ISO, read by position:
 * `2026-11-26 08:05:05.123+00`, with up to 6 fraction digits and an offset of `±HH`,
 * `±HH:MM` or `±HH:MM:SS`; ~3× faster than the regular expression (0.36 → ~0.1 µs), and a
 * list of 20 tasks carries 40 timestamps. Anything else (BC, infinity, years before 100 or
 * after 9999) goes to node-postgres' own parser; a test checks that both read alike.
 */
export const parseTimestamptz = (text: string): unknown => {
  const length = text.length
  if (length < 22 || text[4] !== "-" || text[7] !== "-" || text[10] !== " " || text[13] !== ":" || text[16] !== ":") {
    return parseWithPg(text)
  }
  let position = 19
  let millis = 0
  if (text[position] === ".") {
    const start = ++position
    while (position < length && position - start < 6 && text.charCodeAt(position) >= 48 && text.charCodeAt(position) <= 57) position++
    // As postgres-date computes it (Date.UTC then drops what is below a millisecond).
    millis = 1000 * Number.parseFloat(text.slice(start - 1, position))
  }
  const sign = text[position] === "+" ? 1 : text[position] === "-" ? -1 : 0
  const rest = length - position - 1
  if (sign === 0 || !(rest === 2 || rest === 5 || rest === 8) || (rest > 2 && text[position + 3] !== ":") ||
    (rest > 5 && text[position + 6] !== ":")) {
    return parseWithPg(text)
  }
  const offsetSeconds = digits(text, position + 1, position + 3) * 3600 +
    (rest > 2 ? digits(text, position + 4, position + 6) * 60 : 0) +
    (rest > 5 ? digits(text, position + 7, position + 9) : 0)
  const year = digits(text, 0, 4)
  // Date.UTC reads years 0–99 as 1900–1999.
  if (!(year >= 100)) return parseWithPg(text)
  const utc = Date.UTC(
    year,
    digits(text, 5, 7) - 1,
    digits(text, 8, 10),
    digits(text, 11, 13),
    digits(text, 14, 16),
    digits(text, 17, 19),
    millis
  ) - sign * offsetSeconds * 1000
  return Number.isNaN(utc) ? parseWithPg(text) : new Date(utc)
}
