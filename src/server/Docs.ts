import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import { Effect } from "effect"
import { Api } from "../api/Api.ts"

/**
 * The interactive documentation page (Scalar, with its script inlined: no CDN). It is
 * rendered by Effect's own Scalar integration from the same `Api`, once, on first use.
 */
export const docsPage: Effect.Effect<string> = Effect.cached(
  Effect.promise(async () => {
    const { dispose, handler } = HttpLayerRouter.toWebHandler(
      HttpApiScalar.layerHttpLayerRouter({ api: Api, path: "/docs" }),
      { disableLogger: true }
    )
    try {
      const response = await handler(new Request("http://localhost/docs"))
      return await response.text()
    } finally {
      await dispose()
    }
  })
).pipe(Effect.runSync)
