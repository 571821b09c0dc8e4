import type * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Describe from "../httpapi/Describe.ts"

/**
 * Makes the document derived from `Api` describe what the server really sends. `HttpApi`
 * always declares its own `HttpApiDecodeError` body for 400; our server never sends it (every
 * failure leaves as the envelope), so it goes; the payload schemas say that unknown fields are
 * accepted (they are ignored); and the response headers declared with `Describe` are written in.
 */
const errorDescriptions: Record<string, string> = {
  "400": "A path id, a query parameter, a header or the body is invalid (`VALIDATION_ERROR`)",
  "404": "No such task for this user (`NOT_FOUND`); a task of another user answers the same",
  "413": "The body is larger than 1 MiB (`PAYLOAD_TOO_LARGE`)",
  "415": "The body is not sent as JSON (`UNSUPPORTED_MEDIA_TYPE`)",
  "500": "Database failure or unexpected defect (`INTERNAL_ERROR`)",
  "503": "The database does not answer (`SERVICE_UNAVAILABLE`)"
}

const decodeErrorSchemas = ["HttpApiDecodeError", "Issue", "PropertyKey"]
const payloadSchemas = ["CreateTask", "UpdateTask"]
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const

const describeWhatIsSent = (spec: OpenApi.OpenAPISpec): OpenApi.OpenAPISpec => {
  const paths: OpenApi.OpenAPISpecPaths = {}
  for (const [path, item] of Object.entries(spec.paths)) {
    const rewritten: OpenApi.OpenAPISpecPathItem = { ...item }
    for (const method of methods) {
      const operation = item[method]
      if (operation === undefined) continue
      const responses: OpenApi.OpenAPISpecResponses = {}
      for (const [status, response] of Object.entries(operation.responses)) {
        const content = status === "400"
          ? { "application/json": { schema: { $ref: "#/components/schemas/ValidationError" } } }
          : response.content
        responses[Number(status)] = {
          ...response,
          description: errorDescriptions[status] ?? response.description,
          ...(content === undefined ? {} : { content })
        }
      }
      rewritten[method] = { ...operation, responses }
    }
    paths[path] = rewritten
  }
  const schemas = { ...spec.components.schemas }
  for (const name of decodeErrorSchemas) delete schemas[name]
  for (const name of payloadSchemas) {
    const schema = schemas[name]
    if (schema !== undefined && "additionalProperties" in schema) {
      const { additionalProperties: _ignored, ...rest } = schema
      schemas[name] = rest
    }
  }
  return { ...spec, paths, components: { ...spec.components, schemas } }
}

/** The document transform of `api`: what is really sent, with the declared response headers. */
export const documentTransform = (api: HttpApi.HttpApi.Any) => {
  const headers = Describe.documentHeaders(api)
  return (spec: OpenApi.OpenAPISpec): OpenApi.OpenAPISpec => headers(describeWhatIsSent(spec))
}
