/**
 * The bench's GPU memory probe (VK_EXT_memory_budget through koffi): it finds a device and reads its heaps.
 * Where heapUsage is the process's own (a real GPU), a WebGPU session holding a 256 MiB table raises it by
 * about that much. Lavapipe's heapUsage is the machine's used RAM (MemTotal − MemAvailable), which other
 * processes (parallel test files) move too: there the reading is checked against /proc/meminfo instead.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

  it.skipIf(probe?.scope !== 'system')(`a CPU device's usage is the machine's used RAM${probe?.scope === 'process' ? ' (skipped: this device counts the process)' : ''}`, () => {
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    const used = kb('MemTotal') - kb('MemAvailable');
    // read back to back; other processes move it by far less than 1 GiB in between
    expect(Math.abs(probe!.sample() - used)).toBeLessThan(2 ** 30);
    expect(probe!.device.deviceLocalHeaps[0]).toBe(kb('MemTotal'));
  });

  const why256 = probe?.scope !== 'process' ? ` (skipped: ${probe ? "heapUsage here is the machine's, not the process's" : 'no probe'})` : gpuError ? ` (skipped: no WebGPU adapter: ${gpuError.slice(0, 80)})` : '';
  it.skipIf(why256 !== '')(`a 256 MiB initializer on the WebGPU EP raises the process's usage by about that much${why256}`, async () => {
    const r = await initializerDelta(probe!);
    // the table, and at most Dawn's staging copy besides
    expect(r.ratio).toBeGreaterThan(0.8);
    expect(r.ratio).toBeLessThan(2.2);
  }, 120_000);
});
