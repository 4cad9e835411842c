import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropLowestLayers } from '../../../src-main/engine/adapters/adapter-drop.js';
import { bottleneckMethod, type BottleneckKind } from '../../../src-main/engine/adapters/bottleneck.js';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import { ia3Method } from '../../../src-main/engine/adapters/ia3.js';
import { type MethodAdapter, prefixCausalMask } from '../../../src-main/engine/adapters/method.js';
import { prefixMethod } from '../../../src-main/engine/adapters/prefix.js';
import { stackMethod, stackOf } from '../../../src-main/engine/adapters/stack.js';
import { GraftError } from '../../../src-main/engine/errors.js';
import { generate } from '../../../src-main/engine/infer/generate.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { methodGreedy, methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { positionRange } from '../../../src-main/engine/models/decoder-inputs.js';
import { decoderForward, lmHead } from '../../../src-main/engine/models/decoder.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { plainWeights } from '../../../src-main/engine/models/weights.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { gradCheck } from '../grad/fd-harness.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-compose-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 21, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21], [3, 2, 60, 7, 7, 40]];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
/** A method's init moved deterministically away from the identity (as training would). */
function trained(m: MethodAdapter, seed: number): Map<string, Float32Array> {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return new Map([...m.init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/lora_B|adapter_up|bias$/.test(k) ? 0.3 * r() : x * (1 + 0.5 * r())))]));
}
const bn = (kind: BottleneckKind, name: string) => bottleneckMethod(model.spec, { kind, name, reductionFactor: 4, nonLinearity: 'silu', scaling: 1 });
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof GraftError ? `${e.code}:${e.field}` : String(e);
  }
  return 'none';
};

describe('stack', () => {
  it('IA³ on IA³ equals one IA³ whose vectors are their product (scaled outputs and scaled down inputs)', async () => {
    const a = ia3Method(model.spec);
    const [ta, tb] = [trained(a, 1), trained(a, 2)];
    const product = new Map([...ta].map(([k, v]) => [k, v.map((x, i) => x * tb.get(k)![i])]));
    const s = stackOf(model.spec, [{ adapter: a, tensors: ta }, { adapter: a, tensors: tb }]);
    const stacked = await methodLogits(model, s.adapter, s.tensors, rows);
    expect(maxDiff(stacked, await methodLogits(model, a, ta, rows))).toBeGreaterThan(1e-3);
    // (l₁·l₂)·y and l₂·(l₁·y) differ by fp32 rounding only, which these large logits (|logit| up to ~20) carry to ~1e-6 of them.
    const scale = stacked.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxDiff(stacked, await methodLogits(model, a, product, rows))).toBeLessThanOrEqual(2e-6 * scale);
  });

  it.each(['houlsby', 'pfeiffer'] as const)('%s then an identity adapter equals the first alone; the order matters once both are trained', async (kind) => {
    const [a, b] = [bn(kind, 'lang'), bn(kind, 'task')];
    const [ta, tb] = [trained(a, 3), trained(b, 4)];
    const one = await methodLogits(model, a, ta, rows);
    const withIdentity = stackOf(model.spec, [{ adapter: a, tensors: ta }, { adapter: b, tensors: b.init(model.source, 9) }]);
    expect(maxDiff(one, await methodLogits(model, withIdentity.adapter, withIdentity.tensors, rows))).toBe(0);
    const ab = stackOf(model.spec, [{ adapter: a, tensors: ta }, { adapter: b, tensors: tb }]);
    const ba = stackOf(model.spec, [{ adapter: b, tensors: tb }, { adapter: a, tensors: ta }]);
    const lab = await methodLogits(model, ab.adapter, ab.tensors, rows);
    expect(maxDiff(lab, one)).toBeGreaterThan(1e-3);
    expect(maxDiff(lab, await methodLogits(model, ba.adapter, ba.tensors, rows))).toBeGreaterThan(1e-4);
  });

  it('a prefix under a Houlsby adapter: P virtual tokens, both in effect', async () => {
    const p = prefixMethod(model.spec, { virtualTokens: 2 });
    const h = bn('houlsby', 'task');
    const s = stackOf(model.spec, [{ adapter: p, tensors: p.init(model.source, 5) }, { adapter: h, tensors: trained(h, 6) }]);
    expect(s.adapter.virtualTokens).toBe(2);
    const both = await methodLogits(model, s.adapter, s.tensors, rows);
    expect(maxDiff(both, await methodLogits(model, p, p.init(model.source, 5), rows))).toBeGreaterThan(1e-3);
  });

  it('refuses, with a code and field, a DoRA on a projection an earlier part rewrote; IA³ after DoRA runs', async () => {
    const ia3 = ia3Method(model.spec);
    const dora = doraMethod(model.spec, { r: 2, alpha: 4, rslora: false, targets: ['v'] });
    const bad = stackMethod(model.spec, [ia3, dora]);
    const good = stackOf(model.spec, [{ adapter: dora, tensors: trained(dora, 7) }, { adapter: ia3, tensors: trained(ia3, 8) }]);
    await expect(methodLogits(model, bad, new Map([...bad.init(model.source, 1)]), rows)).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'compose' });
    expect((await methodLogits(model, good.adapter, good.tensors, rows)).every(Number.isFinite)).toBe(true);
    expect(codeOf(() => stackMethod(model.spec, [ia3]))).toBe('BAD_INPUT:compose');
  });

  it('in a batched decode beside other rows: each row equals its own decode and the full-sequence stack graph', async () => {
    const [h, i] = [bn('houlsby', 'lang'), ia3Method(model.spec)];
    const s = stackOf(model.spec, [{ adapter: h, tensors: trained(h, 11) }, { adapter: i, tensors: trained(i, 12) }]);
    const prompt = [1, 17, 23, 5, 42, 9];
    const run = async (variants: Parameters<typeof generate>[0]['variants']) =>
      generate({ model, device: await resolveDevice('cpu'), tokenizer: null, prompt, variants, maxTokens: 12, sampling: { temperature: 0 }, stopAtEos: false });
    const variants = [{ adapters: [] }, { adapters: [], method: { adapter: h, tensors: trained(h, 11) } }, { adapters: [], method: s }];
    const together = await run(variants);
    for (let k = 0; k < variants.length; k++) expect(together[k].ids, `row ${k}`).toEqual((await run([variants[k]]))[0].ids);
    expect(together[2].ids).toEqual((await methodGreedy(model, s.adapter, s.tensors, prompt, 12)).slice(prompt.length));
    expect(together[2].ids).not.toEqual(together[1].ids);
  });

  it('gradients through a stack (Pfeiffer then IA³) match finite differences (float64)', async () => {
    const spec = model.spec;
    const method = stackMethod(spec, [bn('pfeiffer', 'a'), ia3Method(spec)]);
    const [B, T] = [1, 4];
    const rel = await gradCheck(
      method.params.map((p) => ({ shape: p.shape, lo: p.name.includes('ia3') ? 0.5 : -1, hi: p.name.includes('ia3') ? 1.5 : 1 })),
      (g, xs) => {
        const values = new Map(method.params.map((p, i) => [p.name, xs[i]]));
        const ids = g.init('ids', { dtype: 'int32', shape: [B, T], data: Int32Array.from([1, 9, 4, 33]) });
        const positions = g.init('pos', { dtype: 'int32', shape: [B, T], data: positionRange(B, T, 0) });
        const mask = g.init('mask', { dtype: 'float64', shape: [B, 1, 1, T, T], data: Float64Array.from(prefixCausalMask(B, T, 0)) });
        const w = plainWeights(g, model.source, 'float64');
        return lmHead(w, spec, decoderForward(w, spec, { ids, positions, mask }, { ropeLength: T, hooks: method.hooks(g, values, B) }).hidden);
      },
    );
    expect(rel).toBeLessThanOrEqual(1e-6);
  }, 120_000);
});

describe('AdapterDrop', () => {
  it('dropping the lowest k layers equals the adapter with those layers back at the identity', async () => {
    const h = bn('houlsby', 'graft');
    const t = trained(h, 13);
    const k = 1;
    const identityBelow = new Map([...t].map(([n, v]) => [n, /\.layers\.0\./.test(n) && /adapter_up/.test(n) ? new Float32Array(v.length) : v]));
    const dropped = await methodLogits(model, dropLowestLayers(h, k), t, rows);
    expect(maxDiff(dropped, await methodLogits(model, h, identityBelow, rows))).toBe(0);
    expect(maxDiff(dropped, await methodLogits(model, h, t, rows))).toBeGreaterThan(1e-3);
    expect(maxDiff(await methodLogits(model, dropLowestLayers(h, model.spec.layers), t, rows), await computeLogits(model, rows))).toBe(0);
    expect(dropLowestLayers(h, 0)).toBe(h);
  });

  it('a dropped IA³ still merges exactly; a prefix and a bad k are refused with the field', async () => {
    const i = ia3Method(model.spec);
    const t = trained(i, 14);
    const d = dropLowestLayers(i, 1);
    const merged = d.merge(model.source, t);
    if ('refused' in merged) throw new Error(merged.refused);
    expect(maxDiff(await methodLogits(model, d, t, rows), await computeLogits(model, rows, { overrides: merged }))).toBeLessThanOrEqual(1e-5);
    expect(codeOf(() => dropLowestLayers(prefixMethod(model.spec, { virtualTokens: 2 }), 1))).toBe('UNSUPPORTED:adapterDrop');
    expect(codeOf(() => dropLowestLayers(i, model.spec.layers + 1))).toBe('BAD_INPUT:adapterDrop');
  });
});
