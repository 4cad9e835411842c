/**
 * Activation checkpointing (autodiff/recompute-layers.ts): the step graph that recomputes each layer's
 * forward values in the backward gives the plain graph's loss and gradients, and its backward reads far
 * fewer bytes of forward activations — for LoRA, QLoRA at fp16 and a method with its own hooks (DoRA),
 * on CPU and on the WebGPU EP.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { quantizeSource, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { probeWebGpu, resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { buildStepGraph, FLAT, type StepGraphOpts } from '../../../src-main/engine/train/step-graph.js';
import { batchFeeds } from './batch-feeds.js';

const gpuError = await probeWebGpu();
const devices: DevicePref[] = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1' ? ['cpu', 'gpu'] : ['cpu'];

const CFG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 80,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  attention_bias: true,
  bos_token_id: 1,
  eos_token_id: 2,
};
const dir = await writeRandomModel(mkdtempSync(path.join(os.tmpdir(), 'graft-ckpt-')), CFG, { seed: 5, embedStd: 0.5 });
const model = await loadModel(dir);
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const [B, T] = [2, 12];

async function grads(o: Partial<StepGraphOpts>, pref: DevicePref) {
  const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: LORA, batch: B, seq: T, purpose: 'grads', ...o });
  const session = await GraphSession.create(sg.graph, { device: await resolveDevice(pref) });
  let seed = 17;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(((rand() + 1) / 2) * CFG.vocab_size));
  const out = await session.run({
    ...batchFeeds(ids, B, T),
    [FLAT]: { dtype: 'float32', shape: [sg.size], data: Float32Array.from({ length: sg.size }, () => rand() * 0.3) },
  });
  await session.release();
  return { loss: (out.loss_sum as HostTensor).data[0] as number, grad: (out.grad as HostTensor).data as Float32Array, kept: sg.keptForBackward, nodes: sg.graph.nodes.length };
}

const store = quantizeSource(model.source, 'nf4', 'fp16');
const cases: [string, Partial<StepGraphOpts>, number][] = [
  // the same float operations in the same order: equal up to the EPs' own reassociation
  ['LoRA', {}, 1e-5],
  ['QLoRA nf4 at fp16', { weights: quantWeightsFactory(store, { half: true }) as WeightsFactory }, 1e-5],
  ['DoRA', { adapter: doraMethod(model.spec, LORA) }, 1e-5],
];

describe.each(devices)('activation checkpointing on %s', (pref) => {
  it.each(cases)('%s: loss and gradients equal the plain graph, and the backward keeps less than a third of the activations', async (_name, o, tol) => {
    const plain = await grads(o, pref);
    const ckpt = await grads({ ...o, recomputeActivations: true }, pref);
    expect(Math.abs(ckpt.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-6);
    let d2 = 0,
      n2 = 0;
    for (let i = 0; i < plain.grad.length; i++) [d2, n2] = [d2 + (ckpt.grad[i] - plain.grad[i]) ** 2, n2 + plain.grad[i] ** 2];
    expect(n2).toBeGreaterThan(0);
    expect(Math.sqrt(d2 / n2)).toBeLessThanOrEqual(tol);
    // More nodes (the recomputation), far fewer bytes kept from the forward for the backward.
    expect(ckpt.nodes).toBeGreaterThan(plain.nodes);
    expect(ckpt.kept * 3).toBeLessThan(plain.kept);
    console.log(`${_name} on ${pref}: kept ${plain.kept} → ${ckpt.kept} bytes, nodes ${plain.nodes} → ${ckpt.nodes}`);
  });
});
