import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end tests start real hosts and worker threads; give them room.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most end-to-end time is spent waiting on the clock, not computing: run two
    // files at once on two cores (the CI machine's size); more made timing flaky.
    maxWorkers: 2,
  },
});
