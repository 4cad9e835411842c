import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contextOptions, ORT_DEFAULT_PENDING, pendingDispatches, webgpuContextState } from '../../../src-main/engine/runtime/webgpu-context.js';
import { gpuOk, gpuSkipReason } from '../webgpu-under-test.js';

// The process's WebGPU context is made first, through ORT's C API, with the engine's options and its submit
// window (webgpu-context.ts); the binding's sessions then find that context. Captured and plain graphs run
// under it in the decode and training tests (decode-capture, step-capture), which compare the two.

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('the WebGPU context', () => {
  const was = process.env.GRAFT_WEBGPU_PENDING;
  afterEach(() => {
    if (was === undefined) delete process.env.GRAFT_WEBGPU_PENDING;
    else process.env.GRAFT_WEBGPU_PENDING = was;
  });

  it('submits 256 dispatches at a time unless GRAFT_WEBGPU_PENDING sets 1-4096', () => {
    delete process.env.GRAFT_WEBGPU_PENDING;
    expect(pendingDispatches()).toBe(256);
    expect(pendingDispatches()).not.toBe(ORT_DEFAULT_PENDING);
    process.env.GRAFT_WEBGPU_PENDING = '4096';
    expect(pendingDispatches()).toBe(4096);
    for (const bad of ['0', '4097', '12.5', 'many']) {
      process.env.GRAFT_WEBGPU_PENDING = bad;
      expect(pendingDispatches()).toBe(256);
    }
  });

  it("gives the C API the binding's options as strings, with the window", () => {
    delete process.env.GRAFT_WEBGPU_PENDING;
    const o = contextOptions();
    expect(o.maxNumPendingDispatches).toBe('256');
    expect(o.storageBufferCacheMode).toBe('simple');
    if (process.env.GRAFT_WEBGPU_VALIDATE !== '1') expect(o).toMatchObject({ validationMode: 'disabled', enableRobustness: '0' });
    expect(Object.values(o).every((v) => typeof v === 'string')).toBe(true);
  });

  it.skipIf(!gpuOk)(`is held open once the WebGPU EP is probed${gpuSkipReason}`, () => {
    const state = webgpuContextState();
    expect(state?.skipped).toBeNull();
    expect(state?.session).toBeTruthy();
    expect(state?.pending).toBe(pendingDispatches());
  });

  it.skipIf(!gpuOk)(`is the context a later binding session finds, window and all${gpuSkipReason}`, () => {
    // In a new process, so that this one's context (made by the probe above) does not answer; ORT's warnings on
    // (GRAFT_ORT_LOG_LEVEL=2): the binding's session asks for ORT's default window and is told the context's.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-ctx-'));
    try {
      const script = path.join(dir, 'ctx.mts');
      writeFileSync(
        script,
        `import { Graph } from ${JSON.stringify(path.join(ROOT, 'src-main/engine/graph/ir.ts'))};
import { resolveDevice } from ${JSON.stringify(path.join(ROOT, 'src-main/engine/runtime/device.ts'))};
import { GraphSession } from ${JSON.stringify(path.join(ROOT, 'src-main/engine/runtime/session.ts'))};
const g = new Graph('neg');
const x = g.input('x', 'float32', [2]);
g.output(g.add('Neg', [x], [{ dtype: 'float32', shape: [2] }])[0], 'y');
const s = await GraphSession.create(g, { device: await resolveDevice('webgpu'), keepOnDevice: [] });
const out = await s.run({ x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, -2) } });
console.log('y=' + Array.from((out.y as { data: Float32Array }).data).join(','));
await s.release();
`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: { ...process.env, GRAFT_ORT_LOG_LEVEL: '2', GRAFT_WEBGPU_PENDING: '64' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.stdout, r.stderr.slice(-2000)).toContain('y=-1,2');
      expect(r.stderr).toMatch(/already initialized with maxNumPendingDispatches=64\. Requested value 16 will be ignored/);
      // the held session is never released: the process still ends, and cleanly
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
