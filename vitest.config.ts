import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// `graft train` saves to the adapter library by default: tests (and the CLIs they start) use a throwaway one, never
// the user's own. (Tests that train without --out also set GRAFT_DATA_DIR, where such runs are kept.)
const home = mkdtempSync(path.join(tmpdir(), 'graft-vitest-'));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { GRAFT_LIBRARY: path.join(home, 'library') },
  },
});
