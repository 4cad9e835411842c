/**
 * The fused decode graph's residual stream padded to a multiple of 256 on the GPU (fused/nodes.ts, streamWidth):
 * zeros past the hidden size, the RMSNorm weights scaled and zero there, q/k/v and gate/up reading zero rows,
 * o and down writing zero columns, the adapter rows' Aᵀ and Bᵀ padded alike. Checked as a graph (where the
 * padding enters and leaves) and as a decode against the same fused graph unpadded (GRAFT_PAD_STREAM=0), base
 * and adapter rows side by side, on the WebGPU EP (lavapipe in CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraTarget } from '../../../src-main/engine/adapters/lora-config.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import { fusedStreamWidth, gpuForms } from '../../../src-main/engine/infer/fused/gpu-forms.js';
import { streamWidth } from '../../../src-main/engine/infer/fused/nodes.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice, type DeviceInfo } from '../../../src-main/engine/runtime/device.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

const SHAPE: HfConfig = { ...TINY_LLAMA, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true, hidden_size: 96, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, vocab_size: 120 };
let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-pad-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'qwen2'), SHAPE, { seed: 11, embedStd: 1, std: 0.2 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('streamWidth', () => {
  it('is the next multiple of 256: 896 → 1,024, 576 → 768, 960 → 1,024; 1,536 and 2,048 stay', () => {
    expect([896, 576, 960, 1536, 2048, 96].map(streamWidth)).toEqual([1024, 768, 1024, 1536, 2048, 256]);
  });
  it('is the hidden size on a packed (4-bit) base, or where the forms do not pad (the CPU EP, GRAFT_PAD_STREAM=0)', () => {
    expect(fusedStreamWidth(896, true, true)).toBe(896);
    expect(fusedStreamWidth(896, false, false)).toBe(896);
    expect(fusedStreamWidth(896, true, false)).toBe(1024);
    expect(gpuForms({ kind: 'cpu' } as DeviceInfo).padStream).toBe(false);
    expect(gpuForms({ kind: 'webgpu' } as DeviceInfo).padStream).toBe(true);
  });
});

describe('the fused decode graph with a padded stream', () => {
  const build = (padStream: boolean, lora: { targets: LoraTarget[]; rank: number } | null = null) =>
    buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 2, tokens: 1, capacity: 32, lora, anyLength: true, padStream });

  it('pads the embedding once, slices before the LM head once, and carries every norm at 256', () => {
    const g = build(true, { targets: ['q', 'o', 'up', 'down'], rank: 4 });
    const count = (op: string) => g.nodes.filter((n) => n.op === op).length;
    expect(count('Pad')).toBe(1);
    expect(count('Slice')).toBe(1);
    const norms = g.nodes.filter((n) => n.op.endsWith('SimplifiedLayerNormalization'));
    expect(norms).toHaveLength(2 * SHAPE.num_hidden_layers + 1);
    for (const n of norms) expect(n.inputs[0]!.shape.at(-1)).toBe(256);
    // the rows' Aᵀ of q/k/v and gate/up read 256 inputs; Bᵀ of o and down write 256 outputs
    const input = (name: string) => g.inputs.find((v) => v.name === name)!.shape;
    expect(input('lora_at.0.qkv').at(-2)).toBe(256);
    expect(input('lora_bt.0.down').at(-1)).toBe(256);
    expect(input('lora_at.0.o').at(-2)).toBe(SHAPE.num_attention_heads * (SHAPE.hidden_size / SHAPE.num_attention_heads));
    const plain = build(false);
    expect(plain.nodes.some((n) => n.op === 'Pad' || n.op === 'Slice')).toBe(false);
  });

  it.skipIf(!gpuOk)(`${gpuName}: base and adapter rows give the unpadded graph's logits (≤ 1e-4) and ids, step by step`, async () => {
    const device = await resolveDevice('gpu');
    const a = randomAdapter(model.spec, 4, ['q', 'v', 'o', 'gate', 'down'], 3, 0.3);
    const rows = [[], [{ weights: a, scale: 1 }]];
    const prompt = [1, 17, 23, 5, 42, 9, 77];
    const padded = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true);
    expect(padded.mode).toBe('fused');
    const was = process.env.GRAFT_PAD_STREAM;
    process.env.GRAFT_PAD_STREAM = '0';
    try {
      const unpadded = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true, padded);
      expect(unpadded.mode).toBe('fused');
      // the norms' epsilon and weights are rescaled for 256 values: fp32 rounding apart, the same numbers (the
      // bound the fused graph meets against the plain one; logits here reach tens, so ~1e-6 relative)
      padded.logits.forEach((l, s) => expect(maxAbsDiff(l, unpadded.logits[s]), `step ${s}`).toBeLessThanOrEqual(1e-4));
      expect(Math.max(...padded.logits[0].map(Math.abs))).toBeGreaterThan(1);
      expect(unpadded.ids).toEqual(padded.ids);
      expect(new Set(padded.ids.map((r) => r.join(','))).size).toBe(2);
    } finally {
      if (was === undefined) delete process.env.GRAFT_PAD_STREAM;
      else process.env.GRAFT_PAD_STREAM = was;
    }
  }, 120_000);
});
