import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { InternalErrorWire } from "../domain/index.ts"
import * as Describe from "../httpapi/Describe.ts"
import { AuthApi } from "../identity/Api.ts"
import { HealthApi } from "./HealthApi.ts"
import { TasksApi } from "./TasksApi.ts"
import { documentTransform } from "./Transform.ts"

const requestId: Describe.HeaderSpec = {
  description: "The request's id: the `X-Request-Id` it was sent with when that is sane, else a new UUID"
}
const noStore: Describe.HeaderSpec = { description: "Errors are never stored", value: "no-store" }
const traceResponse: Describe.HeaderSpec = {
  description: "With tracing configured (OTEL_EXPORTER_OTLP_ENDPOINT): the request's trace and span, as W3C Trace Context writes them"
}

const described = HttpApi.make("tasks-api")
  .add(TasksApi)
  .add(HealthApi)
  .add(AuthApi)
  .addError(InternalErrorWire)
  .annotate(Describe.ResponseHeaders, {
    "2XX": { "X-Request-Id": requestId, traceresponse: traceResponse },
    "3XX": { "X-Request-Id": requestId, traceresponse: traceResponse },
    "4XX": { "X-Request-Id": requestId, traceresponse: traceResponse, "Cache-Control": noStore },
    "5XX": { "X-Request-Id": requestId, traceresponse: traceResponse, "Cache-Control": noStore }
  })
  .annotate(OpenApi.Title, "Task API")
  .annotate(OpenApi.Version, "2.0.0")
  .annotate(
    OpenApi.Description,
    "Users own tasks. Every error, from every layer, is the envelope `{\"error\":{\"code\",\"message\",\"details\"?}}`."
  )
  .annotate(OpenApi.Servers, [{ url: "http://localhost:8000", description: "A local server (`npm start`)" }])

/**
 * The whole API, described once. The server's routes, the OpenAPI document and the
 * typed client are all derived from this value; it imports only the domain (and the
 * description helpers of `httpapi/Describe.ts`).
 */
// `Transform` is typed loosely; what it is handed is the document `fromApi` built.
export class Api extends described.annotate(OpenApi.Transform, (spec) => documentTransform(described)(spec as OpenApi.OpenAPISpec)) {}
