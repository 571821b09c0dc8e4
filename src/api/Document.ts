import * as OpenApi from "@effect/platform/OpenApi"
import { Api } from "./Api.ts"

/** The OpenAPI document, as committed in `openapi.json` and served at `GET /openapi.json`. */
export const document: OpenApi.OpenAPISpec = OpenApi.fromApi(Api)

export const documentJson: string = JSON.stringify(document, null, 2) + "\n"
