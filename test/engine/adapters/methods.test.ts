import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bitfitMethod } from '../../../src-main/engine/adapters/bitfit.js';
import { bottleneckMethod, type BottleneckKind } from '../../../src-main/engine/adapters/bottleneck.js';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import { ia3Method } from '../../../src-main/engine/adapters/ia3.js';
import { type MethodAdapter, methodParamCount, prefixCausalMask } from '../../../src-main/engine/adapters/method.js';
import { readMethodFolder, writeMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { prefixMethod } from '../../../src-main/engine/adapters/prefix.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { decoderForward, lmHead } from '../../../src-main/engine/models/decoder.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { plainWeights } from '../../../src-main/engine/models/weights.js';
import { positionRange } from '../../../src-main/engine/models/decoder-inputs.js';
import { gradCheck } from '../grad/fd-harness.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../shared/fixtures/peft-methods');
// A Qwen3-like block (q/k norm, k/v biases are Qwen2's) so the hooks meet every block variant.
const TINY_QWEN3 = { ...TINY_LLAMA, architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 8 };

let dir: string;
let model: LoadedModel;
let qwen3: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-methods-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'llama'), TINY_LLAMA, { seed: 5, embedStd: 1, std: 0.3 }));
  qwen3 = await loadModel(await writeRandomModel(path.join(dir, 'qwen3'), TINY_QWEN3, { seed: 6, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  qwen3.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21, 25, 29], [3, 2, 60, 7, 7, 40, 11, 0]];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const perturbed = (m: MethodAdapter, t: Map<string, Float32Array>, seed: number) => {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return new Map([...t].map(([k, v]) => [k, v.map((x) => (k.includes('lora_B') ? 0.05 * r() : x * (1 + 0.2 * r())))]));
};

describe.each([
  ['llama', () => model],
  ['qwen3', () => qwen3],
])('adapter methods on a tiny %s', (_arch, get) => {
  it.each(['ia3', 'dora'])('%s is the identity at init (logits unchanged before training)', async (kind) => {
    const m = get();
    const method = kind === 'ia3' ? ia3Method(m.spec) : doraMethod(m.spec, { r: 4, alpha: 8, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
    const base = await computeLogits(m, rows);
    const adapted = await methodLogits(m, method, method.init(m.source, 1), rows);
    // IA³'s ones are exact; DoRA's m/‖W‖ is 1 only up to fp32 rounding (±1e-7 per row), which these
    // deliberately large logits (max |logit| ≈ 19, weights of std 0.3) amplify to ~1e-6 of them: tolerance 1e-5 relative.
    const scale = base.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    expect(maxDiff(base, adapted)).toBeLessThanOrEqual(kind === 'ia3' ? 0 : 1e-5 * scale);
  });

  it.each(['ia3', 'dora'])('%s merged into the base equals the adapter graph once trained away from init', async (kind) => {
    const m = get();
    const method = kind === 'ia3' ? ia3Method(m.spec) : doraMethod(m.spec, { r: 2, alpha: 4, rslora: true, targets: ['q', 'v', 'down'] });
    const t = perturbed(method, method.init(m.source, 2), 7);
    const merge = method.merge(m.source, t);
    if ('refused' in merge) throw new Error(merge.refused);
    const adapted = await methodLogits(m, method, t, rows);
    expect(maxDiff(adapted, await computeLogits(m, rows))).toBeGreaterThan(1e-3);
    expect(maxDiff(adapted, await computeLogits(m, rows, { overrides: merge }))).toBeLessThanOrEqual(1e-4);
  });

  it.each(['houlsby', 'pfeiffer', 'parallel'] as const)('%s bottleneck is the identity at init and changes the logits once its up-projection moves', async (kind) => {
    const m = get();
    const method = bottleneckMethod(m.spec, { kind, name: 'graft', reductionFactor: 4, nonLinearity: 'relu', scaling: 2 });
    const base = await computeLogits(m, rows);
    const t = method.init(m.source, 4);
    expect(maxDiff(base, await methodLogits(m, method, t, rows))).toBe(0);
    const moved = new Map([...t].map(([k, v]) => [k, k.includes('adapter_up.weight') ? v.map((_, i) => 0.1 * Math.sin(i)) : v]));
    expect(maxDiff(base, await methodLogits(m, method, moved, rows))).toBeGreaterThan(1e-3);
    expect('refused' in method.merge(m.source, t)).toBe(true);
  });

  it('bitfit adds zero biases where the base has none: the identity at init', async () => {
    const m = get();
    const method = bitfitMethod(m.spec);
    const t = method.init(m.source, 0);
    expect([...t.values()].every((b) => b.every((x) => x === 0))).toBe(true);
    expect(maxDiff(await computeLogits(m, rows), await methodLogits(m, method, t, rows))).toBe(0);
    expect(method.merge(m.source, t)).toMatchObject({ refused: expect.stringContaining('has no model.layers.0.self_attn.q_proj.bias') });
  });

  it('a prefix is not an identity (PEFT neither) and refuses to merge; P virtual tokens shift positions', async () => {
    const m = get();
    const method = prefixMethod(m.spec, { virtualTokens: 3 });
    const t = method.init(m.source, 3);
    expect(t.get('prompt_embeddings')!.length).toBe(3 * m.spec.layers * 2 * m.spec.kvHeads * m.spec.headDim);
    expect(maxDiff(await methodLogits(m, method, t, rows), await computeLogits(m, rows))).toBeGreaterThan(1e-3);
    expect('refused' in method.merge(m.source, t)).toBe(true);
    expect(Array.from(prefixCausalMask(1, 2, 2, -1))).toEqual([0, 0, 0, -1, 0, 0, 0, 0]);
  });
});

it("bitfit on a base with q/k/v biases (Qwen2) starts from them and merges exactly", async () => {
  const m = await loadModel(path.join(FIXTURES, 'ia3-qwen2', 'model'));
  try {
    const method = bitfitMethod(m.spec, { targets: ['q', 'k', 'v'] });
    const t = method.init(m.source, 0);
    const ids = [[1, 5, 9, 13]];
    const base = await computeLogits(m, ids);
    expect(maxDiff(base, await methodLogits(m, method, t, ids))).toBe(0);
    const moved = new Map([...t].map(([k, v]) => [k, v.map((x, i) => x + 0.05 * Math.cos(i))]));
    const merge = method.merge(m.source, moved);
    if ('refused' in merge) throw new Error(merge.refused);
    const adapted = await methodLogits(m, method, moved, ids);
    expect(maxDiff(base, adapted)).toBeGreaterThan(1e-4);
    expect(maxDiff(adapted, await computeLogits(m, ids, { overrides: merge }))).toBeLessThanOrEqual(1e-5);
  } finally {
    m.source.close();
  }
});

describe('gradients of the method graphs against finite differences (float64, whole tiny decoder)', () => {
  // DoRA is left out on purpose: its norm is detached (as PEFT's), so its gradient is not the derivative
  // finite differences measure; the PEFT goldens (verify-method-reference.test.ts) check it instead.
  const bottleneck = (kind: BottleneckKind, nonLinearity: 'relu' | 'silu') => bottleneckMethod(model.spec, { kind, name: 'g', reductionFactor: 8, nonLinearity, scaling: 1.5 });
  it.each(['ia3', 'prefix', 'bitfit', 'houlsby/silu', 'pfeiffer/relu', 'parallel/relu'])('%s', async (kind) => {
    const spec = model.spec;
    const [k, nl] = kind.split('/') as [string, 'relu' | 'silu'];
    const method =
      k === 'ia3' ? ia3Method(spec) : k === 'prefix' ? prefixMethod(spec, { virtualTokens: 2 }) : k === 'bitfit' ? bitfitMethod(spec) : bottleneck(k as BottleneckKind, nl);
    const P = method.virtualTokens;
    const [B, T] = [1, 4];
    const rel = await gradCheck(
      method.params.map((p) => ({ shape: p.shape, lo: kind === 'ia3' ? 0.5 : -1, hi: kind === 'ia3' ? 1.5 : 1 })),
      (g, xs) => {
        const values = new Map(method.params.map((p, i) => [p.name, xs[i]]));
        const ids = g.init('ids', { dtype: 'int32', shape: [B, T], data: Int32Array.from([1, 9, 4, 33]) });
        const positions = g.init('pos', { dtype: 'int32', shape: [B, T], data: positionRange(B, T, P) });
        const mask = g.init('mask', { dtype: 'float64', shape: [B, 1, 1, T, P + T], data: Float64Array.from(prefixCausalMask(B, T, P)) });
        const w = plainWeights(g, model.source, 'float64');
        const fwd = decoderForward(w, spec, { ids, positions, mask }, { ropeLength: P + T, hooks: method.hooks(g, values, B) });
        return lmHead(w, spec, fwd.hidden);
      },
    );
    expect(rel).toBeLessThanOrEqual(1e-6);
  }, 120_000);
});

describe('PEFT folders', () => {
  it.each(['dora-llama', 'ia3-qwen2', 'prefix-llama'])('%s: import then export keeps every tensor byte-identical', (name) => {
    const src = path.join(FIXTURES, name, 'adapter');
    const cfg = JSON.parse(readFileSync(path.join(FIXTURES, name, 'model', 'config.json'), 'utf8'));
    return (async () => {
      const m = await loadModel(path.join(FIXTURES, name, 'model'));
      const folder = readMethodFolder(src, m.spec);
      m.source.close();
      const out = path.join(dir, `rt-${name}`);
      writeMethodFolder(out, folder.method, folder.tensors, { stored: folder.stored, config: folder.rawConfig });
      const a = openSafetensors(path.join(src, 'adapter_model.safetensors'));
      const b = openSafetensors(path.join(out, 'adapter_model.safetensors'));
      expect(b.names().sort()).toEqual(a.names().sort());
      for (const n of a.names()) expect(Buffer.compare(a.readRaw(n), b.readRaw(n))).toBe(0);
      expect(JSON.parse(readFileSync(path.join(out, 'adapter_config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(path.join(src, 'adapter_config.json'), 'utf8')));
      expect(methodParamCount(folder.method)).toBe(a.names().reduce((s, n) => s + a.info(n).shape.reduce((x, y) => x * y, 1), 0));
      expect(cfg.num_hidden_layers).toBe(m.spec.layers);
      a.close();
      b.close();
    })();
  });

  it('a tensor of the wrong shape is refused naming the file and tensor', async () => {
    const m = await loadModel(path.join(FIXTURES, 'ia3-llama', 'model'));
    const other = ia3Method({ ...m.spec, intermediate: m.spec.intermediate + 1 });
    m.source.close();
    expect(() => readMethodFolder(path.join(FIXTURES, 'ia3-llama', 'adapter'), other.spec)).toThrow(/adapter_model\.safetensors: .*down_proj\.ia3_l is \[1,176\], the model needs \[1,177\]/);
  });
});
