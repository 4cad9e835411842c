/**
 * The bench's GPU memory probe (VK_EXT_memory_budget through koffi): it finds a device, and a WebGPU
 * session holding a 256 MiB table raises the sampled usage by about that much. On lavapipe the usage is
 * the machine's used RAM (other processes move it too), so only the lower bound is asserted there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuMemoryUnavailable, initializerDelta, openGpuMemoryProbe, type GpuMemoryProbe } from '../../bench/gpu-memory.js';
import { probeWebGpu } from '../../src-main/engine/runtime/device.js';

let probe: GpuMemoryProbe | null = null;
let why = '';
try {
  probe = await openGpuMemoryProbe();
} catch (e) {
  if (!(e instanceof GpuMemoryUnavailable)) throw e;
  why = e.message;
}
const gpuError = probe ? await probeWebGpu() : null;
const cacheBefore = process.env.GRAFT_GRAPH_CACHE;
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-gpu-memory-'));
process.env.GRAFT_GRAPH_CACHE = dir;
afterAll(() => {
  probe?.close();
  if (cacheBefore === undefined) delete process.env.GRAFT_GRAPH_CACHE;
  else process.env.GRAFT_GRAPH_CACHE = cacheBefore;
  rmSync(dir, { recursive: true, force: true });
});

describe(probe ? `GPU memory probe on ${probe.device.name}` : `GPU memory probe (skipped: ${why})`, () => {
  it.skipIf(!probe)('reads the device-local heaps: a usage within the budget, a budget within the heap', () => {
    const used = probe!.sample();
    const budget = probe!.budget();
    expect(probe!.device.deviceLocalHeaps.length).toBeGreaterThan(0);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(Math.max(budget, ...probe!.device.deviceLocalHeaps));
    expect(budget).toBeLessThanOrEqual(probe!.device.deviceLocalHeaps.reduce((a, b) => a + b, 0));
  });

  it.skipIf(!probe || gpuError !== null)(`a 256 MiB initializer on the WebGPU EP raises the sampled usage by about that much${gpuError ? ` (skipped: no WebGPU adapter: ${gpuError.slice(0, 80)})` : ''}`, async () => {
    const r = await initializerDelta(probe!);
    expect(r.ratio).toBeGreaterThan(0.8);
    // Per-process usage (a real GPU) also has an upper bound: the table, Dawn's staging copy at most.
    if (probe!.scope === 'process') expect(r.ratio).toBeLessThan(2.2);
  }, 120_000);
});
