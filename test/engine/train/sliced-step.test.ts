/**
 * The memory-bounded forms of the training step against the plain ones: the LM head and loss over slices of rows
 * (train/loss.ts slicedHeadLoss, used where the logits exceed lossChunking.bytes) and AdamW over slices of the flat
 * vector (train/adamw.ts, adamwSlicing). Both are lowered here so a tiny model takes them; the loss, gradients and
 * updated weights must match the graph that makes the logits whole and updates the vector at once, for LoRA and
 * QLoRA at fp16 (whose head is laid out [D, V]), both with activation checkpointing, on CPU and on the WebGPU EP.
 * Tolerance: 1e-5 relative RMS. The slices change only the order of two sums (the loss and the gradient norm).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { quantizeSource, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { probeWebGpu, resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { ADAMW_SCALARS, adamwScalars, adamwSlicing } from '../../../src-main/engine/train/adamw.js';
import { lossChunking, lossRows, shiftLabels } from '../../../src-main/engine/train/loss.js';
import { buildStepGraph, FLAT, type StepGraphOpts, type StepPurpose } from '../../../src-main/engine/train/step-graph.js';
import { batchFeeds } from './batch-feeds.js';

const gpuError = await probeWebGpu();
const devices: DevicePref[] = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1' ? ['cpu', 'gpu'] : ['cpu'];

const CFG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
};
const dir = await writeRandomModel(mkdtempSync(path.join(os.tmpdir(), 'graft-sliced-')), CFG, { seed: 9, embedStd: 0.5 });
const model = await loadModel(dir);
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const [B, T] = [2, 12];
// 24 rows of 100 fp32 logits are 9,600 bytes: a budget of 2,000 bytes makes slices of 5 rows (the last of 4)
const SLICED = { loss: 2000, adamw: 700 };

async function run(purpose: StepPurpose, o: Partial<StepGraphOpts>, pref: DevicePref, sliced: boolean) {
  const saved = [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above];
  if (sliced) [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above] = [SLICED.loss, SLICED.adamw, 0];
  let sg;
  try {
    sg = buildStepGraph({ spec: model.spec, source: model.source, lora: LORA, batch: B, seq: T, purpose, ...o });
  } finally {
    [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above] = saved;
  }
  // Sliced, no value holds the logits of every row.
  const whole = sg.graph.nodes.some((n) => n.outputs.some((v) => v.shape.length === 2 && v.shape[0] === B * T && v.shape[1] === CFG.vocab_size));
  const session = await GraphSession.create(sg.graph, { device: await resolveDevice(pref) });
  let seed = 23;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(((rand() + 1) / 2) * CFG.vocab_size));
  const sh = shiftLabels(ids, B, T);
  const vec = () => ({ dtype: 'float32' as const, shape: [sg.size], data: Float32Array.from({ length: sg.size }, () => rand() * 0.3) });
  const feeds: Record<string, HostTensor> = {
    ...batchFeeds(ids, B, T),
    [FLAT]: vec(),
  };
  if (purpose === 'step') {
    feeds[`m.${FLAT}`] = vec();
    feeds[`v.${FLAT}`] = { ...vec(), data: vec().data.map((x) => x * x) };
    const s = adamwScalars({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3, maxGradNorm: 1 }, sh.count);
    for (const n of ADAMW_SCALARS) feeds[`adamw.${n}`] = { dtype: 'float32', shape: [], data: Float32Array.of(s[n]) };
  }
  const out = await session.run(feeds);
  await session.release();
  const vals = (k: string) => (out[k] as HostTensor | undefined)?.data as Float32Array | undefined;
  return { loss: vals('loss_sum')![0], grad: vals('grad'), next: vals('new_lora'), whole, slicedAdamW: sg.graph.nodes.filter((n) => n.op === 'Slice' && n.inputs[0]?.name === FLAT).length };
}

function relRms(a: Float32Array, b: Float32Array): number {
  let d2 = 0,
    n2 = 0;
  for (let i = 0; i < a.length; i++) [d2, n2] = [d2 + (a[i] - b[i]) ** 2, n2 + b[i] ** 2];
  expect(n2).toBeGreaterThan(0);
  return Math.sqrt(d2 / n2);
}

const store = quantizeSource(model.source, 'nf4', 'fp16');
// The loss is sliced only with activation checkpointing (the memory-first mode): every case has it.
const cases: [string, Partial<StepGraphOpts>][] = [
  ['LoRA', { recomputeActivations: true }],
  ['QLoRA nf4 at fp16', { weights: quantWeightsFactory(store, { half: true }) as WeightsFactory, recomputeActivations: true }],
];

describe('slice sizes', () => {
  it('a whole fits the budget; above it, equal slices covering every row', () => {
    expect(lossRows(1024, 1000, 4)).toBe(1024); // 4 MB
    expect(lossRows(1024, 128256, 4)).toBe(256); // 525 MB in 4 slices of 131 MB
    expect(lossRows(B * T, CFG.vocab_size, 4)).toBe(24);
  });
});

describe.each(devices)('sliced head, loss and AdamW on %s', (pref) => {
  it.each(cases)('%s: gradients and the AdamW step equal the whole graph', async (_name, o) => {
    const whole = await run('grads', o, pref, false);
    const sliced = await run('grads', o, pref, true);
    expect(whole.whole).toBe(true);
    expect(sliced.whole).toBe(false);
    expect(Math.abs(sliced.loss - whole.loss) / Math.abs(whole.loss)).toBeLessThan(1e-5);
    expect(relRms(sliced.grad!, whole.grad!)).toBeLessThan(1e-5);

    const stepWhole = await run('step', o, pref, false);
    const stepSliced = await run('step', o, pref, true);
    expect(stepSliced.slicedAdamW).toBeGreaterThan(1);
    expect(stepWhole.slicedAdamW).toBe(0);
    expect(Math.abs(stepSliced.loss - stepWhole.loss) / Math.abs(stepWhole.loss)).toBeLessThan(1e-5);
    expect(relRms(stepSliced.next!, stepWhole.next!)).toBeLessThan(1e-5);
  });

  it("the 'loss' graph (evaluation) sums the same loss over slices; without checkpointing the logits stay whole", async () => {
    const whole = await run('loss', { recomputeActivations: true }, pref, false);
    const sliced = await run('loss', { recomputeActivations: true }, pref, true);
    expect(sliced.whole).toBe(false);
    expect((await run('loss', {}, pref, true)).whole).toBe(true);
    expect(Math.abs(sliced.loss - whole.loss) / Math.abs(whole.loss)).toBeLessThan(1e-5);
  });
});
