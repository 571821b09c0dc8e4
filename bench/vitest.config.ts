import { defineConfig } from "vitest/config"

// The benchmark's own tests: `npx vitest run --config bench/vitest.config.ts`. A default export,
// against our style, because that is how vitest finds its configuration.
export default defineConfig({
  test: {
    include: ["bench/test/**/*.test.ts"],
    pool: "forks",
    hookTimeout: 60_000,
    testTimeout: 30_000
  }
})
