/**
 * The real IPC handler table over services in a throwaway library and data folder, for tests that send the
 * GUI's requests (the option parity tests). Call inside a test file: it registers its own beforeAll/afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HandlerTable } from '../../src-main/ipc/contract';
import { createHandlers } from '../../src-main/ipc/handlers/index';
import { createServices, type Services } from '../../src-main/services/index';

export function useHandlerTable(prefix: string): { tmp: string; table: () => HandlerTable } {
  const tmp = mkdtempSync(join(os.tmpdir(), prefix));
  const saved = { lib: process.env.GRAFT_LIBRARY, data: process.env.GRAFT_DATA_DIR };
  let services: Services;
  let table: HandlerTable;
  beforeAll(() => {
    process.env.GRAFT_LIBRARY = join(tmp, 'library');
    process.env.GRAFT_DATA_DIR = join(tmp, 'data');
    services = createServices({ name: 'graft', version: 'test', platform: process.platform });
    table = createHandlers(services);
  });
  afterAll(async () => {
    await services.dispose();
    for (const [k, v] of [['GRAFT_LIBRARY', saved.lib], ['GRAFT_DATA_DIR', saved.data]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(tmp, { recursive: true, force: true });
  });
  return { tmp, table: () => table };
}
