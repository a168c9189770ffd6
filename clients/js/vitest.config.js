import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The validation suite calls describe/it/expect/beforeAll as globals.
    globals: true,
    include: ["test/**/*.test.js"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // One file at a time: every file talks to the same service.
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
