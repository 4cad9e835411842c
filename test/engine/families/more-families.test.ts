/**
 * Gemma 3, Phi-3 and SmolLM3 in generation and QLoRA, against the goldens of
 * shared/fixtures/hf-reference-more (verify-reference.test.ts checks logits, loss and gradients):
 * side-by-side rows (base and adapter in one batch) give PyTorch's greedy ids on the fused graph
 * where it applies and on the plain one, also beside a left-padded row; a 4-bit base gives the
 * same LoRA gradients as fp32 LoRA over its dequantized weights.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseShapesOf, checkCompatibility, inspectPeftAdapter, readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import type { AdapterWeights } from '../../../src-main/engine/adapters/adapter-weights.js';
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { fusedUnsupported } from '../../../src-main/engine/infer/fused-decode-graph.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { GraphWeights, type WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { dequantizeNf4, quantizeSource, quantWeightsFactory, roundedToF16 } from '../../../src-main/engine/quant/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { buildStepGraph, FLAT, flatten, unflatten } from '../../../src-main/engine/train/step-graph.js';
import { expectedOf, FAMILIES, MORE } from './fixtures.js';
import { batchFeeds } from '../train/batch-feeds.js';

async function greedy(model: LoadedModel, rows: RowAdapter[][], prompts: number[][], steps: number, fused: boolean): Promise<{ ids: number[][]; mode: string }> {
  const layout = layoutFor(rows);
  const dec = new KvDecoder(model, { device: await resolveDevice('cpu'), rows: rows.length, capacity: 32, lora: layout, fused });
  if (layout) await dec.setLora(rowLoraFeeds(model.spec, layout, rows));
  const V = model.spec.vocab;
  const out = prompts.map((p) => [...p]);
  try {
    let logits = await dec.prefill(prompts);
    for (let s = 0; s < steps; s++) {
      const next = rows.map((_, b) => {
        let best = 0;
        for (let i = 1; i < V; i++) if (logits[b * V + i] > logits[b * V + best]) best = i;
        return best;
      });
      next.forEach((t, b) => out[b].push(t));
      if (s + 1 < steps) logits = await dec.decode(next);
    }
    return { ids: out, mode: dec.mode };
  } finally {
    await dec.dispose();
  }
}

describe.each(FAMILIES)('%s', (arch) => {
  const dir = path.join(MORE, arch);
  const expected = expectedOf(arch);
  const prompt = expected.prompt_for_greedy;
  const steps = expected.base_greedy.length - prompt.length;
  let model: LoadedModel;
  let adapter: AdapterWeights;
  beforeAll(async () => {
    model = await loadModel(path.join(dir, 'model'));
    adapter = readAdapterWeights(path.join(dir, 'adapter'));
  });

  it('side by side: base and adapter rows in one batch give the fixture greedy ids, on the fused graph where it applies and on the plain graph', async () => {
    // Gemma 3's sliding window, norms and GeGLU are beyond the fused ops: it decodes on the plain graph.
    expect(fusedUnsupported(model.spec) === null).toBe(arch !== 'gemma3');
    const rows: RowAdapter[][] = [[], [{ weights: adapter, scale: 1 }]];
    for (const fused of [true, false]) {
      const r = await greedy(model, rows, [prompt, prompt], steps, fused);
      expect(r.mode).toBe(fused && arch !== 'gemma3' ? 'fused' : 'plain');
      expect(r.ids, `fused=${fused}`).toEqual([expected.base_greedy, expected.lora_greedy]);
    }
  });

  it('a shorter prompt beside it (left padding in the cache, the window counted in slots) leaves the adapter row exact', async () => {
    const r = await greedy(model, [[{ weights: adapter, scale: 1 }], []], [prompt, prompt.slice(3)], steps, true);
    expect(r.mode).toBe('plain');
    expect(r.ids[0]).toEqual(expected.lora_greedy);
  });

  it('the fixture adapter passes the compatibility check against its base and is refused by another family', async () => {
    const info = inspectPeftAdapter(path.join(dir, 'adapter'));
    const shapes = { arch: model.source.config.architectures![0], tensors: info.tensors, numLayers: info.numLayers };
    expect(() => checkCompatibility(shapes, baseShapesOf(model.source))).not.toThrow();
    const other = await loadModel(path.join(MORE, arch === 'phi3' ? 'gemma3' : 'phi3', 'model'));
    expect(() => checkCompatibility(shapes, baseShapesOf(other.source))).toThrow(/was made for a .*ForCausalLM model/);
    other.source.close();
  });

  it('QLoRA: LoRA gradients through an NF4 base equal fp32 LoRA over the dequantized weights (rel ≤ 1e-4)', async () => {
    const store = quantizeSource(model.source, 'nf4', 'fp16');
    // Every projection of the family is quantized: Phi-3's fused qkv_proj and gate_up_proj too.
    expect(store.size).toBe(model.spec.layers * (model.spec.fusedProjections ? 4 : 7));
    // The reference: fp32 LoRA over what the 4-bit graph computes with (projections dequantized, embeddings at fp16).
    const overrides = new Map<string, Float32Array>();
    for (const [n, t] of store) if (t.scheme === 'nf4') overrides.set(n, dequantizeNf4(t));
    for (const n of ['model.embed_tokens.weight', 'lm_head.weight']) if (model.source.has(n)) overrides.set(n, roundedToF16(model.source, n));
    const lora = { r: adapter.r, alpha: adapter.alpha, dropout: 0, rslora: adapter.rslora, targets: adapter.targets };
    const run = async (weights: WeightsFactory) => {
      const [B, T] = [2, 12];
      const sg = buildStepGraph({ spec: model.spec, source: model.source, lora, batch: B, seq: T, purpose: 'grads', weights });
      const session = await GraphSession.create(sg.graph, { device: await resolveDevice('cpu') });
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % model.spec.vocab);
      const out = await session.run({
        ...batchFeeds(ids, B, T),
        [FLAT]: { dtype: 'float32', shape: [sg.size], data: flatten(sg.layout, sg.size, (n) => adapter.tensors.get(n)) },
      });
      await session.release();
      return unflatten(sg.layout, (out.grad as HostTensor).data as Float32Array);
    };
    const q = await run(quantWeightsFactory(store));
    const ref = await run((g, s, dt) => new GraphWeights(g, s, dt, overrides));
    for (const [name, want] of ref) {
      const got = q.get(name)!.data;
      let d2 = 0;
      let n2 = 0;
      want.data.forEach((w, i) => ((d2 += (got[i] - w) ** 2), (n2 += w * w)));
      expect(n2, name).toBeGreaterThan(0);
      expect(Math.sqrt(d2 / n2), name).toBeLessThanOrEqual(1e-4);
    }
  });
});
