import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// `graft train` saves to the adapter library and keeps runs in the app's data folder by default: tests (and the
// CLIs they start) use a throwaway pair, never the user's own. A test that needs its own sets these itself.
const home = mkdtempSync(path.join(tmpdir(), 'graft-vitest-'));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { GRAFT_LIBRARY: path.join(home, 'library'), GRAFT_DATA_DIR: path.join(home, 'data') },
  },
});
