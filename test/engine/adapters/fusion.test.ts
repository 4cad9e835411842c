import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bottleneckMethod, type BottleneckConfig } from '../../../src-main/engine/adapters/bottleneck.js';
import { fusionMethod } from '../../../src-main/engine/adapters/fusion.js';
import { prefixCausalMask } from '../../../src-main/engine/adapters/method.js';
import { readMethodFolder, writeMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { positionRange } from '../../../src-main/engine/models/decoder-inputs.js';
import { decoderForward, lmHead } from '../../../src-main/engine/models/decoder.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { plainWeights } from '../../../src-main/engine/models/weights.js';
import { gradCheck } from '../grad/fd-harness.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-fusion-unit-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'model'), TINY_LLAMA, { seed: 41, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21], [3, 2, 60, 7, 7, 40]];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const cfg = (kind: 'houlsby' | 'pfeiffer', name: string): BottleneckConfig => ({ kind, name, reductionFactor: 8, nonLinearity: 'silu', scaling: 1 });
function trainedBottleneck(c: BottleneckConfig, seed: number): Map<string, Float32Array> {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return new Map([...bottleneckMethod(model.spec, c).init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/adapter_up|bias$/.test(k) ? 0.3 * r() : x))]));
}

describe.each(['houlsby', 'pfeiffer'] as const)('AdapterFusion over %s adapters', (kind) => {
  const parts = () => [cfg(kind, 'a'), cfg(kind, 'b')].map((c, k) => ({ config: c, tensors: trainedBottleneck(c, 3 + k) }));

  it('with zero query/key and V = I it is exactly the average of the adapters (one bottleneck of both, halved)', async () => {
    const ps = parts();
    const fusion = fusionMethod(model.spec, ps);
    const zeroQK = new Map([...fusion.init(model.source, 1)].map(([n, v]) => [n, n.endsWith('value.weight') ? v.map((x) => (x === 1 ? 1 : 0)) : new Float32Array(v.length)]));
    // Average of f_a and f_b = one bottleneck of width Ra + Rb: downs stacked, ups side by side and halved.
    const both = bottleneckMethod(model.spec, { ...cfg(kind, 'ab'), reductionFactor: 4 });
    const [ta, tb] = ps.map((p) => p.tensors);
    const R = model.spec.hidden / 8;
    const D = model.spec.hidden;
    const tAvg = new Map<string, Float32Array>();
    for (const p of both.params) {
      const [na, nb] = [p.name.replace('.ab.', '.a.'), p.name.replace('.ab.', '.b.')];
      const [x, y] = [ta.get(na)!, tb.get(nb)!];
      if (p.name.endsWith('adapter_down.0.weight') || p.name.endsWith('adapter_down.0.bias')) tAvg.set(p.name, Float32Array.from([...x, ...y]));
      else if (p.name.endsWith('adapter_up.bias')) tAvg.set(p.name, x.map((v, i) => (v + y[i]) / 2));
      else tAvg.set(p.name, Float32Array.from({ length: D * 2 * R }, (_, i) => (i % (2 * R) < R ? x[Math.floor(i / (2 * R)) * R + (i % (2 * R))] : y[Math.floor(i / (2 * R)) * R + (i % (2 * R)) - R]) / 2));
    }
    const fused = await methodLogits(model, fusion, zeroQK, rows);
    expect(maxDiff(fused, await methodLogits(model, both, tAvg, rows))).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(fused, await methodLogits(model, bottleneckMethod(model.spec, ps[0].config), ps[0].tensors, rows))).toBeGreaterThan(1e-3);
  });

});

it('gradients of the fusion weights match finite differences (float64; the adapters are constants)', async () => {
  // Query/key near AdapterHub's init scale: larger ones saturate the softmax, where both gradients vanish
  // into rounding noise. Layer 0's matrices are held fixed to keep the element-by-element check short;
  // layer 1 covers every kind of tensor. The key bias adds q·k_b to every adapter's score alike, which the
  // softmax cancels: its gradient is exactly zero (AdapterHub's too), so finite differences measure only noise.
  const fusion = fusionMethod(model.spec, [cfg('pfeiffer', 'a'), cfg('pfeiffer', 'b')].map((c, k) => ({ config: c, tensors: trainedBottleneck(c, 3 + k) })));
  const spec = model.spec;
  const [B, T] = [1, 4];
  const rel = await gradCheck(
    fusion.params.map((p) => {
      const qk = /(query|key)\.weight$/.test(p.name);
      return { shape: p.shape, lo: qk ? -0.05 : -0.5, hi: qk ? 0.05 : 0.5, fixed: (p.name.startsWith('model.layers.0.') && p.name.endsWith('weight')) || p.name.endsWith('key.bias') };
    }),
    (g, xs) => {
      const values = new Map(fusion.params.map((p, i) => [p.name, xs[i]]));
      const ids = g.init('ids', { dtype: 'int32', shape: [B, T], data: Int32Array.from([1, 9, 4, 33]) });
      const positions = g.init('pos', { dtype: 'int32', shape: [B, T], data: positionRange(B, T, 0) });
      const mask = g.init('mask', { dtype: 'float64', shape: [B, 1, 1, T, T], data: Float64Array.from(prefixCausalMask(B, T, 0)) });
      const w = plainWeights(g, model.source, 'float64');
      return lmHead(w, spec, decoderForward(w, spec, { ids, positions, mask }, { ropeLength: T, hooks: fusion.hooks(g, values, B) }).hidden);
    },
  );
  expect(rel).toBeLessThanOrEqual(1e-6);
}, 120_000);

it('a fusion folder keeps its adapters and refuses them once changed; parallel adapters and mixed placements are refused', async () => {
  const ps = [cfg('pfeiffer', 'a'), cfg('pfeiffer', 'b')].map((c, k) => ({ config: c, tensors: trainedBottleneck(c, 7 + k) }));
  const fusion = fusionMethod(model.spec, ps);
  const out = path.join(dir, 'fusion');
  writeMethodFolder(out, fusion, fusion.init(model.source, 2));
  const back = readMethodFolder(out, model.spec);
  expect(back.method.kind).toBe('fusion');
  expect(maxDiff(await methodLogits(model, back.method, back.tensors, rows), await methodLogits(model, fusion, fusion.init(model.source, 2), rows))).toBe(0);
  // An adapter changed under the fusion no longer matches the digest it was trained over.
  const moved = new Map([...ps[1].tensors].map(([n, v]) => [n, v.map((x) => x + 0.01)]));
  writeMethodFolder(path.join(out, 'adapters', '1'), bottleneckMethod(model.spec, ps[1].config), moved);
  expect(() => readMethodFolder(out, model.spec)).toThrow(/tensors_sha256 differs/);
  const par = { config: { ...cfg('pfeiffer', 'p'), kind: 'parallel' as const }, tensors: new Map() };
  expect(() => fusionMethod(model.spec, [ps[0], par])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', field: 'fuseAdapters' }));
  expect(() => fusionMethod(model.spec, [ps[0], { config: cfg('houlsby', 'h'), tensors: new Map() }])).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', field: 'fuseAdapters' }));
  expect(() => fusionMethod(model.spec, [ps[0]])).toThrow(expect.objectContaining({ code: 'BAD_INPUT', field: 'fuseAdapters' }));
});
