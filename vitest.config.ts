import { defineConfig } from "vitest/config"

// A default export, against our style, because that is how vitest finds its configuration.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Starts the PostgreSQL server the PostgreSQL tests share (or points them at TEST_DATABASE_URL).
    globalSetup: ["test/support/globalSetup.ts"],
    // Child processes rather than threads: tests spawn and SIGKILL processes, and a worker that
    // dies takes its embedded servers' watchdog pipes with it, so they stop too.
    pool: "forks",
    // Starting PostgreSQL (initdb ~1 s, more on a loaded 2-core machine) happens in hooks.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    teardownTimeout: 30_000
  }
})
