import { Duration, Effect } from "effect"
import type { HealthApi } from "../api/HealthApi.ts"
import { ServiceUnavailable } from "../domain/index.ts"
import { TaskRepository } from "../repository/TaskRepository.ts"
import type { GroupHandlers } from "../httpapi/Handlers.ts"

/** How long readiness waits for the database before calling it unavailable. */
const READY_TIMEOUT = Duration.seconds(2)

export const HealthHttp: GroupHandlers<typeof HealthApi, TaskRepository> = {
  alive: () => Effect.succeed({ status: "ok" as const }),
  ready: () =>
    Effect.flatMap(TaskRepository, (tasks) => tasks.ping).pipe(
      Effect.timeoutFail({ duration: READY_TIMEOUT, onTimeout: () => "timed out" }),
      Effect.tapError((cause) => Effect.logWarning("Readiness check failed", cause)),
      Effect.mapError(() => new ServiceUnavailable()),
      Effect.as({ status: "ok" as const })
    )
}
