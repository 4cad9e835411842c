/**
 * The fused decode graph on an int4 base (QLoRA's): its projections run as MatMulNBits on the packed
 * codes, concatenated along N per fused group. Checked step by step against the plain graph on the
 * same quantized store (QuantWeights), base and LoRA rows side by side, on the CPU and WebGPU EPs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { loadQuantizedBase, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

// K = 64 (two blocks of 32) for q/k/v/o/gate/up and K = 80 for down: a ragged last block, as MatMulNBits pads it.
const SHAPE: HfConfig = { ...TINY_LLAMA, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 96 };

let dir: string;
let model: LoadedModel;
const factories = new Map<string, WeightsFactory>();
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-fused-packed-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'llama'), SHAPE, { seed: 5, embedStd: 1, std: 0.2 }));
  for (const scheme of ['int4', 'nf4'] as const) factories.set(scheme, quantWeightsFactory((await loadQuantizedBase(model.source, scheme, { cacheDir: null })).store));
  // Scheme int4s: symmetric blocks (zero point 8 everywhere), what ORT's fused 4-bit decode ops take.
  factories.set('int4-sym', quantWeightsFactory((await loadQuantizedBase(model.source, 'int4s', { cacheDir: null })).store));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fused decode graph on a packed int4 base', () => {
  it('takes int4 projections as MatMulNBits (one per fused group) and leaves NF4 to the plain graph', () => {
    const packed = factories.get('int4')!.packed!(model.source)!;
    expect(packed.linear.size).toBe(7 * SHAPE.num_hidden_layers);
    const g = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 64, lora: null, packed });
    const ops = g.nodes.filter((n) => n.op === 'MatMulNBits').length;
    expect(ops).toBe(4 * SHAPE.num_hidden_layers); // qkv, o, gate_up, down
    expect(g.nodes.filter((n) => n.op === 'MatMul').length).toBe(1); // the split-K head only
    expect(g.keepConstantsPacked).toBe(true);
    expect(factories.get('nf4')!.packed!(model.source)).toBeNull();
  });

  for (const [name, pref, enabled] of [
    ['CPU EP', 'cpu', true],
    [gpuName, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])
    it.skipIf(!enabled)(`${name}: base and LoRA rows match the plain graph on the same int4 store, step by step`, async () => {
      const device = await resolveDevice(pref);
      const weights = factories.get('int4')!;
      const a = randomAdapter(model.spec, 8, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], 2, 0.3);
      const rows: RowAdapter[][] = [[], [{ weights: a, scale: 1 }]];
      const prompt = [1, 17, 23, 5, 42, 9, 77];
      const fused = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true, undefined, weights);
      expect(fused.mode).toBe('fused');
      const plain = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, false, fused, weights);
      expect(plain.mode).toBe('plain');
      let worst = 0;
      fused.logits.forEach((l, s) => (worst = Math.max(worst, maxAbsDiff(l, plain.logits[s]))));
      console.log(`${pref} int4 fused vs plain max |Δ| ${worst}`);
      // Same codes, same scales, same MatMulNBits kernel; only the fused ops' summation order differs.
      expect(worst).toBeLessThan(1e-4);
      expect(plain.ids).toEqual(fused.ids);
    });

  it('on symmetric codes with no adapter rows, takes each layer as MatMulNBitsQkv, MatMulNBits (o), MatMulNBitsMlp, MatMulNBits (down) when asked', () => {
    const packed = factories.get('int4-sym')!.packed!(model.source)!;
    const build = (nbitsFusion: boolean) => buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 64, lora: null, packed, nbitsFusion, anyLength: true });
    const count = (g: ReturnType<typeof build>, op: string) => g.nodes.filter((n) => n.op === op).length;
    const fusedOps = build(true);
    expect(count(fusedOps, 'MatMulNBitsQkv')).toBe(SHAPE.num_hidden_layers);
    expect(count(fusedOps, 'MatMulNBitsMlp')).toBe(SHAPE.num_hidden_layers);
    expect(count(fusedOps, 'MatMulNBits')).toBe(2 * SHAPE.num_hidden_layers);
    expect(count(fusedOps, 'SkipSimplifiedLayerNormalization')).toBe(1); // the final norm only
    expect(count(build(false), 'MatMulNBitsQkv')).toBe(0);
    const mlpOnly = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 64, lora: null, packed, nbitsFusion: 'mlp', anyLength: true });
    expect(count(mlpOnly, 'MatMulNBitsQkv')).toBe(0);
    expect(count(mlpOnly, 'MatMulNBitsMlp')).toBe(SHAPE.num_hidden_layers);
    // asymmetric codes: no fused ops
    const asym = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 64, lora: null, packed: factories.get('int4')!.packed!(model.source)!, nbitsFusion: true, anyLength: true });
    expect(count(asym, 'MatMulNBitsQkv')).toBe(0);
  });

  it.skipIf(!gpuOk)(`${gpuName}: the fused 4-bit ops (one base row, symmetric codes) match the plain graph step by step`, async () => {
    const device = await resolveDevice('gpu');
    const weights = factories.get('int4-sym')!;
    const rows: RowAdapter[][] = [[]];
    for (const [mode, prompt] of [['all', [1, 17, 23, 5, 42, 9, 77]], ['all', [3, 4]], ['mlp', [1, 17, 23, 5, 42, 9, 77]]] as const) {
      process.env.GRAFT_NBITS_FUSION = mode; // 'mlp' (the default): the MLP op only
      const fused = await greedyTrace(model, device, rows.map(() => [...prompt]), rows, 8, true, undefined, weights);
      expect(fused.mode).toBe('fused');
      const plain = await greedyTrace(model, device, rows.map(() => [...prompt]), rows, 8, false, fused, weights);
      let worst = 0;
      fused.logits.forEach((l, s) => (worst = Math.max(worst, maxAbsDiff(l, plain.logits[s]))));
      console.log(`gpu int4 symmetric, fused 4-bit ops (${mode}) vs plain max |Δ| ${worst}`);
      expect(worst).toBeLessThan(1e-4);
      expect(plain.ids).toEqual(fused.ids);
    }
    delete process.env.GRAFT_NBITS_FUSION;
  });
});
