/**
 * Versions of lists, computed from what identifies a task's state: its id and its
 * `updated_at`, which moves strictly forward on every real change (the trigger of migration
 * 0001) and never otherwise. The in-memory repository, the PostgreSQL one and the HTTP layer
 * all compute a list's version here, so the same rows always give the same version.
 *
 * Not cryptographic: a version tells a client whether its copy is current, it protects
 * nothing. Two 32-bit multiplicative lanes give 64 bits, so an accidental collision between
 * two states of one list is out of reach in practice.
 */
interface Versioned {
  readonly id: number
  readonly updated_at: Date
}

const LANE_A = 0x811c9dc5
const LANE_B = 0x9e3779b9

const mixA = (state: number, value: number): number => Math.imul(state ^ value, 0x01000193)
const mixB = (state: number, value: number): number => {
  const next = Math.imul(state ^ value, 0x5bd1e995)
  return next ^ (next >>> 15)
}

const render = (a: number, b: number): string =>
  (a >>> 0).toString(36).padStart(7, "0") + (b >>> 0).toString(36).padStart(7, "0")

/**
 * The version of a list of tasks, order included. `hasMore` is part of a page's content
 * (it decides the `Link` header), so a page whose next page appears gets a new version.
 */
export const listVersion = (tasks: ReadonlyArray<Versioned>, hasMore = false): string => {
  let a = LANE_A ^ tasks.length
  let b = LANE_B ^ (hasMore ? 1 : 0)
  for (const task of tasks) {
    const millis = task.updated_at.getTime()
    // Milliseconds since 1970 need 41 bits: both halves count.
    const low = millis % 0x100000000
    const high = Math.floor(millis / 0x100000000)
    a = mixA(mixA(mixA(a, task.id), low), high)
    b = mixB(mixB(mixB(b, task.id), low), high)
  }
  return render(a, b)
}

/**
 * The version of a list too long to read before answering, from one aggregate over its
 * rows: their count, their largest id and the sum of a 64-bit hash of (id, updated_at) per
 * row. Adding a task raises the count and the largest id (ids are never reused, so a new one
 * is above every id ever seen); removing one lowers the count; changing one moves its
 * `updated_at`, so its term of the sum changes (the sum changes unless two different terms
 * collide modulo 2^64). Any combination of these between two reads changes at least one of
 * the three, except when deletions and changes cancel exactly in the sum, as unlikely as a
 * 64-bit collision. The rendering gets a prefix of its own, so it can never equal a version
 * from `listVersion`.
 */
export const aggregateVersion = (count: number, maxId: number, hashSum: string): string => {
  let a = mixA(mixA(LANE_A, count), maxId)
  let b = mixB(mixB(LANE_B, count), maxId)
  for (let i = 0; i < hashSum.length; i++) {
    const code = hashSum.charCodeAt(i)
    a = mixA(a, code)
    b = mixB(b, code)
  }
  return `a${render(a, b)}`
}
