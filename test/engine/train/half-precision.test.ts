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

/** The per-token losses of `steps` LoRA steps (all 7 targets, r 4) on one fixed batch of 2 × 16 tokens. */
async function lossCurve(model: Awaited<ReturnType<typeof loadModel>>, device: DevicePref, weights: typeof halfWeights | undefined, seed: number, steps: number, stride: number): Promise<number[]> {
  const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * stride) % 500);
  const batch = { inputIds: ids, labels: ids, batch: 2, seqLen: 16 };
  const r = await createStepRunner({ source: model.source, spec: model.spec, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LORA_TARGETS] }, device, batch: 2, seqLen: 16, seed, weights });
  const losses: number[] = [];
  try {
    for (let s = 1; s <= steps; s++) {
      const o = await r.step(batch, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s, maxGradNorm: 1 });
      losses.push(o.lossSum / o.tokens);
    }
  } finally {
    await r.dispose();
  }
  return losses;
}

describe.each(devices)('fp16 base projections (%s)', (device) => {
  // fp16 weights carry ~3 significant digits: over 5 AdamW steps the loss may move by ~1e-4 of itself.
  it('train like fp32: loss curves agree to 1e-3 relative, and the graph really runs fp16 GEMMs', async () => {
    const model = await loadModel(QWEN2);
    const curves = [await lossCurve(model, device, undefined, 1, 5, 37), await lossCurve(model, device, halfWeights, 1, 5, 37)];
    curves[1].forEach((l, i) => expect(Math.abs(l - curves[0][i]) / curves[0][i]).toBeLessThan(1e-3));
    const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q'] }, batch: 1, seq: 4, purpose: 'step', weights: halfWeights });
    const halfGemms = sg.graph.nodes.filter((n) => (n.op === 'Gemm' || n.op === 'MatMul') && n.inputs.every((i) => i?.dtype === 'float16'));
    // 5 products × 2 layers forward (q, k and v as one, HalfWeights.qkvPiece; o, gate, up, down): 10, and dX
    // through every product downstream of layer 0's q adapter (layer 0's o, gate, up, down and layer 1's five: 9);
    // layer 0's q/k/v product sees no gradient.
    expect(halfGemms.length).toBe(19);
    expect(halfGemms.filter((n) => n.inputs[1]?.shape[1] === model.spec.heads * model.spec.headDim + 2 * model.spec.kvHeads * model.spec.headDim)).toHaveLength(2);
    // MatMul over weights laid out [in, out] (the EP's fast GEMM), never Gemm with transB, in fp16; the
    // backward's [out, in] weights are transposes made in the step, not resident copies
    expect(halfGemms.every((n) => n.op === 'MatMul')).toBe(true);
    const inits = [...sg.graph.initializers.keys()].map((v) => v.name);
    expect(inits.filter((n) => n.endsWith('.f16t'))).toHaveLength(14); // each weight's own; q, k and v joined in the graph
    expect(inits.some((n) => n.endsWith('_proj.weight'))).toBe(false);
    // the LM head is a MatMul over the table laid out [D, V]
    expect(sg.graph.nodes.some((n) => n.op === 'MatMul' && /^(lm_head|model\.embed_tokens)\.weight\.t$/.test(n.inputs[1]?.name ?? ''))).toBe(true);
    expect(curves[1][4]).toBeLessThan(curves[1][0]);
  });
});

describe.each(devices)('q, k and v as one fp16 product (%s)', (device) => {
  // The same products, joined: the forward's columns are the same dot products; dX sums q, k and v's parts inside
  // one fp16 product instead of adding three in fp32, so the curves agree to fp16's rounding, not exactly.
  it('trains as one product each (GRAFT_QKV_GROUP=0) does: losses within 1e-4 relative over 4 steps', async () => {
    const model = await loadModel(QWEN2);
    const curves: number[][] = [];
    const was = process.env.GRAFT_QKV_GROUP;
    try {
      for (const grouped of ['1', '0']) {
        process.env.GRAFT_QKV_GROUP = grouped;
        const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q'] }, batch: 1, seq: 4, purpose: 'step', weights: halfWeights });
        const concats = sg.graph.nodes.filter((n) => n.op === 'Concat' && n.inputs.every((i) => i?.dtype === 'float16'));
        // the forward's [in, q+k+v] weight in each layer, and the backward's [q+k+v, in] in layer 1
        expect(concats.length, `GRAFT_QKV_GROUP=${grouped}`).toBe(grouped === '1' ? 3 : 0);
        curves.push(await lossCurve(model, device, halfWeights, 3, 4, 53));
      }
    } finally {
      if (was === undefined) delete process.env.GRAFT_QKV_GROUP;
      else process.env.GRAFT_QKV_GROUP = was;
    }
    curves[0].forEach((l, i) => expect(Math.abs(l - curves[1][i]) / curves[1][i], `step ${i + 1}`).toBeLessThan(1e-4));
    expect(curves[0][3]).toBeLessThan(curves[0][0]);
  });
});
