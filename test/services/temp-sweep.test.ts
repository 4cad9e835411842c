import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createServices } from '../../src-main/services/index';

const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('temp files and folders of killed writers in the data folder are swept at the next start (issue 15 item 9)', async () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a process that has ended
  const run = path.join(dir, 'runs', 'r1');
  mkdirSync(path.join(run, `.ckpt-3.tmp-${dead}-beef`), { recursive: true });
  writeFileSync(path.join(run, `.ckpt-3.tmp-${dead}-beef`, 'adapter_model.safetensors'), Buffer.alloc(1 << 20));
  writeFileSync(path.join(run, `.adapter_model.safetensors.tmp-${dead}-abcd`), 'half');
  writeFileSync(path.join(run, `.state.json.tmp-${process.pid}-aaaa`), 'a live writer');
  writeFileSync(path.join(run, 'state.json'), '{}');
  const services = createServices({ name: 'graft', version: 'test', platform: process.platform }, { dir });
  try {
    const swept = await services.settings.swept;
    expect(swept.sort()).toEqual([path.join(run, `.adapter_model.safetensors.tmp-${dead}-abcd`), path.join(run, `.ckpt-3.tmp-${dead}-beef`)]);
    expect(existsSync(path.join(run, `.state.json.tmp-${process.pid}-aaaa`))).toBe(true);
    expect(existsSync(path.join(run, 'state.json'))).toBe(true);
  } finally {
    await services.dispose();
  }
});
