import { Context } from "effect"

/**
 * The live counters of the service's connection pool (node-postgres' `pg.Pool` seen read-only),
 * for metrics: @effect/sql-pg does not expose the pool it makes, so the pool is made here.
 */
export interface PoolCountsShape {
  /** Connections open, in use or idle. */
  readonly totalCount: number
  readonly idleCount: number
  /** Queries waiting for a connection. */
  readonly waitingCount: number
}

export class PoolCounts extends Context.Tag("database/PoolCounts")<PoolCounts, PoolCountsShape>() {}
