import { defineConfig } from 'vitest/config';

/** End-to-end tests: real browser, real built bundles. Run after `npm run build` (npm run test:e2e). */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One browser at a time on a 2-core machine.
    fileParallelism: false,
    pool: 'forks',
    reporters: ['verbose'],
  },
});
