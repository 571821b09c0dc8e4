import { Effect, Option } from "effect"
import type { Api } from "../api/Api.ts"
import {
  ETags,
  Forbidden,
  IdempotencyKeyInUse,
  IdempotencyKeyReused,
  NotModified,
  PreconditionFailed,
  type Task,
  TaskNotFound,
  type UserId
} from "../domain/index.ts"
import { Handlers, Respond } from "../httpapi/index.ts"
import { CurrentUser } from "../identity/Api.ts"
import { TaskRepository } from "../repository/TaskRepository.ts"
import { fingerprint } from "./Fingerprint.ts"

const withTag = (task: Task) => Respond.withHeaders(task, { ETag: ETags.ofTask(task) })

const notModified = (tag: string) => Effect.fail(Respond.withHeaders(new NotModified(), { ETag: tag }))

const precondition = (header: string | undefined) => Option.map(Option.fromNullable(header), ETags.ifMatch)

/** The next page: the same path and filter, after the last task of this one. */
const nextLink = (owner: UserId, limit: number, completed: boolean | undefined, last: Task): string => {
  const completedParam = completed === undefined ? "" : `&completed=${completed}`
  return `</users/${owner}/tasks?limit=${limit}&after=${last.id}${completedParam}>; rel="next"`
}

/** The tasks endpoints: decoding is done, so each is one repository call and its answer. */
export const TasksHttp = Handlers.group(
  {} as typeof Api,
  "tasks",
  {
    // The hot endpoints are plain combinators, not generators: a generator cost ~1.5 KB of
    // garbage per request.
    list: ({ headers, path, urlParams }) =>
      Effect.flatMap(TaskRepository, (tasks) =>
        tasks.list(path.user_id, {
          completed: Option.fromNullable(urlParams.completed),
          after: urlParams.after ?? 0,
          limit: Option.fromNullable(urlParams.limit)
        })).pipe(
          Effect.flatMap((list): Effect.Effect<
            Respond.Streamed<Task> | Respond.WithHeaders<ReadonlyArray<Task>>,
            Respond.WithHeaders<NotModified>
          > => {
            const tag = ETags.ofList(list.version)
            if (ETags.noneMatch(headers["if-none-match"], tag)) return notModified(tag)
            const last = list.head[list.head.length - 1]
            const answer: Record<string, string> = { ETag: tag }
            if (list.hasMore && urlParams.limit !== undefined && last !== undefined) {
              answer["Link"] = nextLink(path.user_id, urlParams.limit, urlParams.completed, last)
            }
            return Effect.succeed(
              Option.isSome(list.rest)
                ? Respond.streamed(list.head, list.rest.value, answer)
                : Respond.withHeaders(list.head, answer)
            )
          })
        ),
    create: ({ headers, path, payload, raw }) => {
      const key = headers["idempotency-key"]
      const idempotency = key === undefined ? Option.none() : Option.some({ key, fingerprint: fingerprint(raw.json) })
      return Effect.flatMap(TaskRepository, (tasks) => tasks.create(path.user_id, payload, idempotency)).pipe(
        Effect.flatMap((outcome): Effect.Effect<
          Respond.WithHeaders<Task>,
          IdempotencyKeyReused | IdempotencyKeyInUse
        > => {
          switch (outcome._tag) {
            case "Created":
            case "Replayed":
              return Effect.succeed(Respond.withHeaders(outcome.task, {
                ETag: ETags.ofTask(outcome.task),
                Location: `/users/${outcome.task.user_id}/tasks/${outcome.task.id}`
              }))
            case "KeyReused":
              return Effect.fail(new IdempotencyKeyReused())
            case "KeyInUse":
              return Effect.fail(new IdempotencyKeyInUse())
          }
        })
      )
    },
    get: ({ headers, path }) =>
      Effect.flatMap(TaskRepository, (tasks) => tasks.get(path.user_id, path.task_id)).pipe(
        Effect.flatMap((found): Effect.Effect<Respond.WithHeaders<Task>, TaskNotFound | Respond.WithHeaders<NotModified>> => {
          if (Option.isNone(found)) return Effect.fail(new TaskNotFound())
          const tag = ETags.ofTask(found.value)
          return ETags.noneMatch(headers["if-none-match"], tag) ? notModified(tag) : Effect.succeed(withTag(found.value))
        })
      ),
    update: ({ headers, path, payload }) =>
      Effect.flatMap(
        TaskRepository,
        (tasks) => tasks.update(path.user_id, path.task_id, payload, precondition(headers["if-match"]))
      ).pipe(
        Effect.flatMap((outcome): Effect.Effect<Respond.WithHeaders<Task>, TaskNotFound | PreconditionFailed> => {
          switch (outcome._tag) {
            case "Updated":
              return Effect.succeed(withTag(outcome.task))
            case "NotFound":
              return Effect.fail(new TaskNotFound())
            case "PreconditionFailed":
              return Effect.fail(new PreconditionFailed())
          }
        })
      ),
    delete: ({ headers, path }) =>
      Effect.gen(function*() {
        const tasks = yield* TaskRepository
        const outcome = yield* tasks.remove(path.user_id, path.task_id, precondition(headers["if-match"]))
        switch (outcome) {
          case "Deleted":
            return { message: "Task deleted successfully" as const }
          case "NotFound":
            return yield* new TaskNotFound()
          case "PreconditionFailed":
            return yield* new PreconditionFailed()
        }
      })
  },
  {
    // After the path, before anything else: a token acts only for its own user (403), and a
    // bad token was refused before this (401) by the Authentication middleware.
    authorize: (path) =>
      Effect.flatMap(CurrentUser, (principal) =>
        principal._tag === "User" && principal.id !== path.user_id ? Effect.fail(new Forbidden()) : Effect.void)
  }
)
