import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { ServiceUnavailableWire } from "../domain/index.ts"

export const HealthStatus = Schema.Struct({ status: Schema.Literal("ok") }).annotations({ identifier: "HealthStatus" })

/** Operational endpoints, for load balancers and orchestrators. */
export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("alive", "/health")
      .addSuccess(HealthStatus)
      .annotate(OpenApi.Summary, "The process is up")
  )
  .add(
    HttpApiEndpoint.get("ready", "/health/ready")
      .addSuccess(HealthStatus)
      .addError(ServiceUnavailableWire)
      .annotate(OpenApi.Summary, "The database answers")
  )
  .annotate(OpenApi.Description, "Liveness and readiness probes for load balancers and orchestrators.")
{}
