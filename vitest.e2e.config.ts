import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// As in vitest.config.ts: `graft train` saves to the adapter library by default, so the CLIs these tests start
// use a throwaway one, never the user's own.
const home = mkdtempSync(path.join(tmpdir(), 'graft-vitest-e2e-'));

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
    env: { GRAFT_LIBRARY: path.join(home, 'library') },
  },
});
