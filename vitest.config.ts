import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end tests start real hosts and worker threads; give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
