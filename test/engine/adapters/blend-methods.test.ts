import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blendMethods } from '../../../src-main/engine/adapters/blend-methods.js';
import { jacobiSvd, matmul } from '../../../src-main/engine/adapters/blend-svd.js';
import { bottleneckMethod } from '../../../src-main/engine/adapters/bottleneck.js';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import { ia3Method } from '../../../src-main/engine/adapters/ia3.js';
import { lowRankFit } from '../../../src-main/engine/adapters/low-rank-fit.js';
import type { MethodAdapter } from '../../../src-main/engine/adapters/method.js';
import { methodToLora } from '../../../src-main/engine/adapters/method-to-lora.js';
import { prefixMethod } from '../../../src-main/engine/adapters/prefix.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-blend-methods-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 31, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21]];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
function trained(m: MethodAdapter, seed: number): Map<string, Float32Array> {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return new Map([...m.init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/lora_B/.test(k) ? 0.3 * r() : x * (1 + 0.5 * r())))]));
}
const mergeOf = (m: MethodAdapter, t: ReadonlyMap<string, Float32Array>) => {
  const got = m.merge(model.source, t);
  if ('refused' in got) throw new Error(got.refused);
  return got;
};
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { code: string; field: string; message: string };
  }
  throw new Error('not refused');
};

describe('low-rank fit of a dense matrix', () => {
  it('reproduces a rank-3 matrix at rank 3 and reaches the optimal truncation error of a full-rank one', () => {
    const [n, m] = [12, 9];
    const b = Float64Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 1.3));
    const a = Float64Array.from({ length: 3 * m }, (_, i) => Math.cos(i * 0.7));
    const low = lowRankFit(matmul(b, a, n, 3, m), n, m, 3);
    expect(low.residual / low.norm).toBeLessThan(1e-10);
    const square = Float64Array.from({ length: 10 * 10 }, (_, i) => Math.sin(i * i * 0.37) + (i % 11 === 0 ? 2 : 0));
    const fit = lowRankFit(square, 10, 10, 4);
    const s = jacobiSvd(square, 10).s;
    const optimal = Math.sqrt(s.slice(4).reduce((t, x) => t + x * x, 0));
    expect(fit.residual).toBeGreaterThanOrEqual(optimal * (1 - 1e-9));
    expect(fit.residual).toBeLessThanOrEqual(optimal * 1.01);
  });
});

describe('weighted merge of non-LoRA adapters', () => {
  it('IA³: exact; the merged weights are the weighted sum of each adapter’s merged weights', async () => {
    const m = ia3Method(model.spec);
    const [ta, tb] = [trained(m, 1), trained(m, 2)];
    const res = blendMethods(model.source, [{ adapter: m, tensors: ta, weight: 0.3 }, { adapter: m, tensors: tb, weight: 0.7 }]);
    expect([res.mode, res.relativeError]).toEqual(['exact', 0]);
    const [ma, mb, mr] = [mergeOf(m, ta), mergeOf(m, tb), mergeOf(m, res.tensors)];
    for (const [name, w] of mr) expect(maxDiff(w, ma.get(name)!.map((x, i) => 0.3 * x + 0.7 * mb.get(name)![i]))).toBeLessThan(1e-5);
    const logits = await methodLogits(model, m, res.tensors, rows);
    expect(maxDiff(logits, await methodLogits(model, m, ta, rows))).toBeGreaterThan(1e-3);
  });

  it('DoRA: refused as exact with the reason; fitted at a rank with the true error reported (0 at full rank)', async () => {
    const m = doraMethod(model.spec, { r: 2, alpha: 4, rslora: false, targets: ['q', 'v', 'down'] });
    const inputs = [{ adapter: m, tensors: trained(m, 3), weight: 0.5 }, { adapter: m, tensors: trained(m, 4), weight: 0.5 }];
    expect(refusal(() => blendMethods(model.source, inputs))).toMatchObject({ code: 'UNSUPPORTED', field: 'mergeRank', message: expect.stringContaining('not linear') });
    const [ma, mb] = inputs.map((i) => mergeOf(m, i.tensors));
    const wanted = new Map([...ma].map(([n, w]) => [n, w.map((x, i) => 0.5 * x + 0.5 * mb.get(n)![i])]));
    const full = blendMethods(model.source, inputs, { rank: 32 });
    expect(full.relativeError).toBeLessThan(1e-5);
    const fullMerge = mergeOf(full.adapter, full.tensors);
    for (const [n, w] of wanted) expect(maxDiff(fullMerge.get(n)!, w)).toBeLessThan(1e-4);
    const low = blendMethods(model.source, inputs, { rank: 2 });
    expect(low.mode).toBe('svd');
    expect(low.relativeError).toBeGreaterThan(1e-3);
    // The reported error is the true one: the fitted DoRA's merged weights against W*, relative to W* − W.
    const lowMerge = mergeOf(low.adapter, low.tensors);
    let res = 0;
    let nrm = 0;
    for (const [n, w] of wanted) {
      const base = model.source.readF32(n);
      w.forEach((x, i) => {
        res += (lowMerge.get(n)![i] - x) ** 2;
        nrm += (x - base[i]) ** 2;
      });
    }
    expect(Math.abs(Math.sqrt(res / nrm) - low.relativeError)).toBeLessThan(1e-4);
    expect(low.worst!.relativeError).toBeGreaterThanOrEqual(low.relativeError * 0.999);
  });

  it('refuses mixed methods, bottlenecks and prefixes with the field and the reason', () => {
    const ia3 = ia3Method(model.spec);
    const dora = doraMethod(model.spec, { r: 2, alpha: 4, rslora: false, targets: ['q'] });
    const h = bottleneckMethod(model.spec, { kind: 'houlsby', name: 'g', reductionFactor: 4, nonLinearity: 'relu', scaling: 1 });
    const p = prefixMethod(model.spec, { virtualTokens: 2 });
    const one = (m: MethodAdapter) => ({ adapter: m, tensors: m.init(model.source, 0), weight: 0.5 });
    expect(refusal(() => blendMethods(model.source, [one(ia3), one(dora)]))).toMatchObject({ code: 'UNSUPPORTED', field: 'compose' });
    expect(refusal(() => blendMethods(model.source, [one(h), one(h)]))).toMatchObject({ code: 'UNSUPPORTED', field: 'compose', message: expect.stringContaining('non-linear') });
    expect(refusal(() => blendMethods(model.source, [one(p), one(p)]))).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('attention positions') });
    expect(refusal(() => blendMethods(model.source, [one(ia3), one(ia3)], { rank: 4 }))).toMatchObject({ code: 'BAD_INPUT', field: 'mergeRank' });
  });
});

describe('DoRA / IA³ to LoRA by SVD', () => {
  it.each(['dora', 'ia3'])('%s: at full rank the LoRA reproduces the adapter; truncated, the error is reported', async (kind) => {
    const m = kind === 'dora' ? doraMethod(model.spec, { r: 2, alpha: 4, rslora: false, targets: ['q', 'v', 'down'] }) : ia3Method(model.spec);
    const t = trained(m, 5);
    const full = methodToLora(model.source, m, t, 32);
    expect(full.relativeError).toBeLessThan(1e-5);
    const adapted = await methodLogits(model, m, t, rows);
    expect(maxDiff(adapted, await computeLogits(model, rows, { adapters: [{ weights: full.weights }] }))).toBeLessThan(1e-4);
    const low = methodToLora(model.source, m, t, 2);
    expect(low.relativeError).toBeGreaterThan(1e-3);
    expect(low.relativeError).toBeLessThan(1);
    expect(low.weights.r).toBe(2);
  });

  it('refuses a method with no merge, with the field', () => {
    const h = bottleneckMethod(model.spec, { kind: 'pfeiffer', name: 'g', reductionFactor: 4, nonLinearity: 'relu', scaling: 1 });
    expect(refusal(() => methodToLora(model.source, h, h.init(model.source, 0), 4))).toMatchObject({ code: 'UNSUPPORTED', field: 'loraRank' });
  });
});
