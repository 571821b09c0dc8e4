import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import {
  CreateHeaders,
  CreateTask,
  ForbiddenWire,
  IdempotencyKeyInUseWire,
  IdempotencyKeyReusedWire,
  IfMatch,
  IfNoneMatch,
  ListParams,
  NotModified,
  PayloadTooLargeWire,
  PreconditionFailedWire,
  Task,
  TaskDeleted,
  TaskIdFromPath,
  TaskNotFoundWire,
  UnsupportedMediaTypeWire,
  UpdateTask,
  UserIdFromPath,
  ValidationErrorWire
} from "../domain/index.ts"
import * as Describe from "../httpapi/Describe.ts"
import { Authentication } from "../identity/Api.ts"

const UserPath = Schema.Struct({ user_id: UserIdFromPath })
const TaskPath = Schema.Struct({ user_id: UserIdFromPath, task_id: TaskIdFromPath })

const etag = (of: string): Describe.HeaderSpec => ({ description: `Strong validator of ${of}` })
const revalidate: Describe.HeaderSpec = { description: "Kept by the client only, and always revalidated", value: "private, no-cache" }

/** The tasks of one user. Every endpoint is scoped by the owner in the path. */
export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.get("list", "/users/:user_id/tasks")
      .setPath(UserPath)
      .setUrlParams(ListParams)
      .setHeaders(IfNoneMatch)
      .addSuccess(Schema.Array(Task))
      .addError(NotModified)
      .annotate(Describe.ResponseHeaders, {
        "200": {
          ETag: etag("the whole list"),
          Link: { description: "`<…?after=<last id>&limit=…>; rel=\"next\"` when `limit` cut the list short" }
        },
        "304": { ETag: etag("the whole list") }
      })
      .annotate(OpenApi.Summary, "List a user's tasks, ordered by id")
      .annotate(
        OpenApi.Description,
        "A user with no tasks gets `[]`, not 404. With `limit`, a page; the `Link` header names the next one. " +
          "Without `limit` every matching task, possibly streamed."
      )
  )
  .add(
    HttpApiEndpoint.post("create", "/users/:user_id/tasks")
      .setPath(UserPath)
      .setHeaders(CreateHeaders)
      .setPayload(CreateTask)
      .addSuccess(Task, { status: 201 })
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .addError(IdempotencyKeyInUseWire)
      .addError(IdempotencyKeyReusedWire)
      .annotate(Describe.ResponseHeaders, {
        "201": { ETag: etag("the task"), Location: { description: "The new task's path" } }
      })
      .annotate(OpenApi.Summary, "Create a task")
      .annotate(
        OpenApi.Description,
        "The first task of an unknown user creates that user. Unknown fields are ignored. " +
          "With `Idempotency-Key`, a repeat of the same request answers as the first did and creates nothing."
      )
  )
  .add(
    HttpApiEndpoint.get("get", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .setHeaders(IfNoneMatch)
      .addSuccess(Task)
      .addError(TaskNotFoundWire)
      .addError(NotModified)
      .annotate(Describe.ResponseHeaders, { "200": { ETag: etag("the task") }, "304": { ETag: etag("the task") } })
      .annotate(OpenApi.Summary, "Read a task")
  )
  .add(
    HttpApiEndpoint.put("update", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .setHeaders(IfMatch)
      .setPayload(UpdateTask)
      .addSuccess(Task)
      .addError(TaskNotFoundWire)
      .addError(PreconditionFailedWire)
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .annotate(Describe.ResponseHeaders, { "200": { ETag: etag("the task") } })
      .annotate(OpenApi.Summary, "Change some fields of a task")
      .annotate(
        OpenApi.Description,
        "Absent fields stay as they are; `description: null` clears the description; `{}` changes nothing."
      )
  )
  .add(
    HttpApiEndpoint.del("delete", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .setHeaders(IfMatch)
      .addSuccess(TaskDeleted)
      .addError(TaskNotFoundWire)
      .addError(PreconditionFailedWire)
      .annotate(OpenApi.Summary, "Delete a task")
  )
  .addError(ValidationErrorWire)
  .addError(ForbiddenWire)
  .middleware(Authentication)
  .annotate(Describe.ResponseHeaders, { "2XX": { "Cache-Control": revalidate }, "304": { "Cache-Control": revalidate } })
  .annotate(
    OpenApi.Description,
    "A task belonging to another user answers exactly as a task that does not exist. " +
      "With authentication configured, a token acts only for its own user (403 on another user's path)."
  )
{}
