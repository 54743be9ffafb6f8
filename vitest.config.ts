import { defineConfig } from "vitest/config";

// Tests that spawn the CLI on tens of thousands of lines take 2-5 s on the 2-core
// machines; vitest's default 5 s timeout made them fail when the machine was busy
// (a timeout here guards against hangs, it is not a speed goal).
export default defineConfig({
  test: { testTimeout: 60_000, hookTimeout: 60_000 },
});
