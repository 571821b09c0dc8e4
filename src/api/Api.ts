import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { InternalErrorWire } from "../domain/index.ts"
import { HealthApi } from "./HealthApi.ts"
import { TasksApi } from "./TasksApi.ts"
import { describeWhatIsSent } from "./Transform.ts"

/**
 * The whole API, described once. The server's routes, the OpenAPI document and the
 * typed client are all derived from this value; it imports only the domain.
 */
export class Api extends HttpApi.make("tasks-api")
  .add(TasksApi)
  .add(HealthApi)
  .addError(InternalErrorWire)
  .annotate(OpenApi.Title, "Task API")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Users own tasks. Every error, from every layer, is the envelope `{\"error\":{\"code\",\"message\",\"details\"?}}`."
  )
  .annotate(OpenApi.Servers, [{ url: "http://localhost:8000", description: "A local server (`npm start`)" }])
  // `Transform` is typed loosely; what it is handed is the document `fromApi` built.
  .annotate(OpenApi.Transform, (spec) => describeWhatIsSent(spec as OpenApi.OpenAPISpec))
{}
