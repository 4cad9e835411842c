/**
 * Is a decode step's fixed cost on WebGPU the read-back of its logits? Runs the plain decode graph of a
 * model for N steps twice: logits copied to the host every step, and logits left on the GPU (read once
 * at the end). The difference per step is what asynchronous read-back could save.
 */
import { buildDecodeGraph, cacheIn, cacheOut } from '../src-main/engine/infer/decode-graph.js';
import { loadModel } from '../src-main/engine/model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { GraphSession } from '../src-main/engine/runtime/session.js';
import type { Feed } from '../src-main/engine/runtime/tensors.js';
import { toDeviceAll, toHost } from '../src-main/engine/runtime/transfer.js';

export async function syncProbe(pref: DevicePref, modelPath: string, steps = 64) {
  const device = await resolveDevice(pref);
  const model = await loadModel(modelPath);
  const { spec } = model;
  const C = 128;
  const g = buildDecodeGraph({ spec, source: model.source, batch: 1, tokens: 1, capacity: C, lora: null });
  const caches = g.outputs.map((o) => o.name).filter((n) => n !== 'logits');
  const results: Record<string, number> = {};
  for (const keepLogits of [false, true]) {
    const s = await GraphSession.create(g, { device, keepOnDevice: keepLogits ? [...caches, 'logits'] : caches });
    const shape = [1, spec.kvHeads, C, spec.headDim];
    const zeros = { dtype: 'float32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
    const names = Array.from({ length: spec.layers }, (_, i) => [cacheIn(i, 'k'), cacheIn(i, 'v')]).flat();
    let cache: Record<string, Feed> = Object.fromEntries((await toDeviceAll(names.map(() => zeros), device)).map((t, i) => [names[i], t]));
    const step = async (p: number) => {
      const mask = new Float32Array(C).fill(-1e9).fill(0, 0, p + 1);
      const out = await s.run({
        ...cache,
        input_ids: { dtype: 'int32', shape: [1, 1], data: Int32Array.of(1 + (p % 100)) },
        positions: { dtype: 'int32', shape: [1, 1], data: Int32Array.of(p) },
        attn_mask: { dtype: 'float32', shape: [1, 1, 1, 1, C], data: mask },
        write_index: { dtype: 'int32', shape: [1, spec.kvHeads, 1, spec.headDim], data: new Int32Array(spec.kvHeads * spec.headDim).fill(p) },
      });
      for (const t of Object.values(cache)) if ('dispose' in t) t.dispose();
      cache = Object.fromEntries(names.map((n, i) => [n, out[cacheOut(Math.floor(i / 2), i % 2 ? 'v' : 'k')]]));
      return out.logits;
    };
    for (let p = 0; p < 8; p++) await step(p); // warm-up
    const t0 = performance.now();
    let last: Feed | undefined;
    for (let p = 8; p < 8 + steps; p++) last = await step(p);
    await toHost(last!, device);
    results[keepLogits ? 'logits_on_gpu_ms_per_step' : 'logits_to_host_ms_per_step'] = +((performance.now() - t0) / steps).toFixed(2);
    await s.release();
  }
  console.log(modelPath.split('/').pop(), JSON.stringify(results));
  return results;
}
