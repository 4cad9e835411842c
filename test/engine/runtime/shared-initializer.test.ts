/**
 * Two ONNX Runtime sessions reading one device buffer as an initializer (ort-capi.ts: aliasOf, and
 * webgpuSession's `initializers`, ORT's AddInitializer): ORT takes a caller-owned OrtValue on the session's own
 * device as the initializer itself, with no copy. This is what would let a second graph over a model's weights
 * (a one-token decode graph of static shapes beside the any-length one: docs/gpu-speed.md, eighteenth pass) keep
 * them on the device once. Checked on the WebGPU EP: the sessions compute with the shared buffer's values, not
 * the graph's, and both see a later write into it.
 */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { inlineGraph } from '../../../src-main/engine/runtime/graph-cache.js';
import { OrtCApi, type Ptr } from '../../../src-main/engine/runtime/ort-capi.js';
import type { DeviceTensor } from '../../../src-main/engine/runtime/tensors.js';
import { toDeviceAll, writeInto } from '../../../src-main/engine/runtime/transfer.js';
import { holdWebGpuContext } from '../../../src-main/engine/runtime/webgpu-context.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

describe('an initializer shared by two sessions', () => {
  it.skipIf(!gpuOk)(`${gpuName}: both compute with the device buffer given, and see a write into it`, async () => {
    const device = await resolveDevice('gpu');
    holdWebGpuContext();
    const api = OrtCApi.get();
    const g = new Graph('shared_init');
    const x = g.input('x', 'float32', [1, 4]);
    const w = g.init('W', { dtype: 'float32', shape: [4, 3], data: new Float32Array(12).fill(1) });
    g.output(g.add('MatMul', [x, w], [{ dtype: 'float32', shape: [1, 3] }])[0], 'y');
    const model = inlineGraph(g, { graph: g.name, nodes: 1, serializeMs: 0, writeMs: 0, ortCreateMs: 0 })!.model;
    const host = (sign: number) => ({ dtype: 'float32' as const, shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => sign * i) });
    const [wDev] = (await toDeviceAll([host(1)], device)) as DeviceTensor[];
    // ORT refuses a buffer its own allocator owns ("must be owned by the user"): a second OrtValue over it
    const alias = api.aliasOf(api.ortValueOf((wDev.ort as unknown as { gpuBuffer: unknown }).gpuBuffer, 'float32', 12), 'float32', [4, 3]);
    const sessions = [0, 1].map(() => api.webgpuSession(model, {}, { initializers: { W: alias } }));
    const run = (s: Ptr) => {
      const b = api.binding(s);
      const ro = api.runOptions({});
      const xin = api.cpuTensor('float32', [1, 4], Float32Array.of(1, 10, 100, 1000));
      const yout = api.cpuTensor('float32', [1, 3]);
      try {
        api.call('BindInput', b, 'x', xin.value);
        api.call('BindOutput', b, 'y', yout.value);
        api.call('RunWithBinding', s, ro, b);
        return Array.from(yout.read());
      } finally {
        api.release('ReleaseIoBinding', b);
        api.release('ReleaseRunOptions', ro);
        api.freeHost(xin);
        api.freeHost(yout);
      }
    };
    try {
      // x·W with W = 0..11 as [4, 3] (the graph's own W, all ones, would give 1,111 each)
      const want = [9630, 10741, 11852];
      expect(sessions.map(run)).toEqual([want, want]);
      await writeInto([wDev], [host(-1)], device);
      expect(sessions.map(run)).toEqual([want.map((v) => -v), want.map((v) => -v)]);
    } finally {
      for (const s of sessions) api.release('ReleaseSession', s);
      api.release('ReleaseValue', alias);
      wDev.dispose();
    }
  }, 60_000);
});
