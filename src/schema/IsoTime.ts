/**
 * `Date.prototype.toISOString` in plain arithmetic, for the instants a task can hold (years
 * 1970 to 9999): ~200 ns against V8's ~600 ns here, and a list of 20 tasks writes 40 of them.
 * Outside that range (or for an invalid date) it answers undefined, and the caller uses
 * `toISOString` itself. A property test compares both over the whole range.
 */

const DAY_MS = 86_400_000
/** 10000-01-01T00:00:00.000Z: the first instant `toISOString` writes with a six-digit year. */
const END_MS = 253_402_300_800_000

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, "0"))
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, "0"))

export const isoString = (date: Date): string | undefined => {
  const epochMillis = date.getTime() // a whole number, or NaN
  if (!(epochMillis >= 0 && epochMillis < END_MS)) return undefined
  const days = Math.floor(epochMillis / DAY_MS)
  let rest = epochMillis - days * DAY_MS
  // Days to a civil date (H. Hinnant's `civil_from_days`, for days ≥ 0): March-based years
  // of 400-year eras put the leap day last.
  const shifted = days + 719_468
  const era = (shifted / 146_097) | 0
  const dayOfEra = shifted - era * 146_097
  const yearOfEra = ((dayOfEra - ((dayOfEra / 1460) | 0) + ((dayOfEra / 36_524) | 0) - ((dayOfEra / 146_096) | 0)) / 365) | 0
  const dayOfYear = dayOfEra - (365 * yearOfEra + ((yearOfEra / 4) | 0) - ((yearOfEra / 100) | 0))
  const monthFromMarch = ((5 * dayOfYear + 2) / 153) | 0
  const day = dayOfYear - (((153 * monthFromMarch + 2) / 5) | 0) + 1
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  const hours = (rest / 3_600_000) | 0
  rest -= hours * 3_600_000
  const minutes = (rest / 60_000) | 0
  rest -= minutes * 60_000
  const seconds = (rest / 1000) | 0
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${
    TWO_DIGITS[seconds]
  }.${THREE_DIGITS[rest - seconds * 1000]}Z`
}
