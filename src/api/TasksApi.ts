import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import * as Describe from "../httpapi/Describe.ts"
import {
  CreateTask,
  PayloadTooLargeWire,
  Task,
  TaskDeleted,
  TaskIdFromPath,
  TaskNotFoundWire,
  UnsupportedMediaTypeWire,
  UpdateTask,
  UserIdFromPath,
  ValidationErrorWire
} from "../domain/index.ts"

const UserPath = Schema.Struct({ user_id: UserIdFromPath })
const TaskPath = Schema.Struct({ user_id: UserIdFromPath, task_id: TaskIdFromPath })

/** The tasks of one user. Every endpoint is scoped by the owner in the path. */
export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.get("list", "/users/:user_id/tasks")
      .setPath(UserPath)
      .addSuccess(Schema.Array(Task))
      .annotate(OpenApi.Summary, "List a user's tasks, ordered by id")
      .annotate(OpenApi.Description, "A user with no tasks gets `[]`, not 404.")
  )
  .add(
    HttpApiEndpoint.post("create", "/users/:user_id/tasks")
      .setPath(UserPath)
      .setPayload(CreateTask)
      .addSuccess(Task, { status: 201 })
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .annotate(OpenApi.Summary, "Create a task")
      .annotate(OpenApi.Description, "The first task of an unknown user creates that user. Unknown fields are ignored.")
  )
  .add(
    HttpApiEndpoint.get("get", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .addSuccess(Task)
      .addError(TaskNotFoundWire)
      .annotate(OpenApi.Summary, "Read a task")
  )
  .add(
    HttpApiEndpoint.put("update", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .setPayload(UpdateTask)
      .addSuccess(Task)
      .addError(TaskNotFoundWire)
      .addError(PayloadTooLargeWire)
      .addError(UnsupportedMediaTypeWire)
      .annotate(OpenApi.Summary, "Change some fields of a task")
      .annotate(
        OpenApi.Description,
        "Absent fields stay as they are; `description: null` clears the description; `{}` changes nothing."
      )
  )
  .add(
    HttpApiEndpoint.del("delete", "/users/:user_id/tasks/:task_id")
      .setPath(TaskPath)
      .addSuccess(TaskDeleted)
      .addError(TaskNotFoundWire)
      .annotate(OpenApi.Summary, "Delete a task")
  )
  .addError(ValidationErrorWire)
  .annotate(Describe.ResponseHeaders, {
    "2XX": { "Cache-Control": { description: "Kept by the client only, and always revalidated", value: "private, no-cache" } }
  })
  .annotate(OpenApi.Description, "A task belonging to another user answers exactly as a task that does not exist.")
{}
