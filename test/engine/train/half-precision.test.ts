import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { halfWeights } from '../../../src-main/engine/models/half-weights.js';
import { probeWebGpu, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';
import { buildStepGraph } from '../../../src-main/engine/train/step-graph.js';

const QWEN2 = path.resolve(import.meta.dirname, '../../../../shared/fixtures/hf-reference/qwen2/model');
const gpuError = await probeWebGpu();
const devices: DevicePref[] = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1' ? ['cpu', 'gpu'] : ['cpu'];

describe.each(devices)('fp16 base projections (%s)', (device) => {
  // fp16 weights carry ~3 significant digits: over 5 AdamW steps the loss may move by ~1e-4 of itself.
  it('train like fp32: loss curves agree to 1e-3 relative, and the graph really runs fp16 GEMMs', async () => {
    const model = await loadModel(QWEN2);
    const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37) % 500);
    const batch = { inputIds: ids, labels: ids, batch: 2, seqLen: 16 };
    const curves: number[][] = [];
    for (const weights of [undefined, halfWeights]) {
      const r = await createStepRunner({ source: model.source, spec: model.spec, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LORA_TARGETS] }, device, batch: 2, seqLen: 16, seed: 1, weights });
      const losses: number[] = [];
      for (let s = 1; s <= 5; s++) {
        const o = await r.step(batch, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s, maxGradNorm: 1 });
        losses.push(o.lossSum / o.tokens);
      }
      await r.dispose();
      curves.push(losses);
    }
    curves[1].forEach((l, i) => expect(Math.abs(l - curves[0][i]) / curves[0][i]).toBeLessThan(1e-3));
    const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q'] }, batch: 1, seq: 4, purpose: 'step', weights: halfWeights });
    const halfGemms = sg.graph.nodes.filter((n) => (n.op === 'Gemm' || n.op === 'MatMul') && n.inputs.every((i) => i?.dtype === 'float16'));
    // 7 projections × 2 layers forward (14), and dX through every projection downstream of layer 0's
    // q adapter (layer 0's o, gate, up, down and all 7 of layer 1: 11); layer 0's q/k/v see no gradient.
    expect(halfGemms.length).toBe(25);
    // MatMul over weights laid out [in, out] (the EP's fast GEMM), never Gemm with transB, in fp16; the
    // backward's [out, in] weights are transposes made in the step, not resident copies
    expect(halfGemms.every((n) => n.op === 'MatMul')).toBe(true);
    const inits = [...sg.graph.initializers.keys()].map((v) => v.name);
    expect(inits.filter((n) => n.endsWith('.f16t'))).toHaveLength(14);
    expect(inits.some((n) => n.endsWith('_proj.weight'))).toBe(false);
    // the LM head is a MatMul over the table laid out [D, V]
    expect(sg.graph.nodes.some((n) => n.op === 'MatMul' && /^(lm_head|model\.embed_tokens)\.weight\.t$/.test(n.inputs[1]?.name ?? ''))).toBe(true);
    expect(curves[1][4]).toBeLessThan(curves[1][0]);
  });
});
