/**
 * QLoRA's fp16 step holds an embedding table or LM head too big for one fp32 buffer in fp16 (quant-weights.ts
 * halfTable): one [V, D] fp16 initializer instead of fp32 row chunks, looked up exactly (the values are
 * fp16-rounded already) and multiplied in fp16 at the head. tableChunking.bytes is lowered so a tiny model's
 * tables count as big. Checked against the fp32 chunked tables of the same store, on CPU and on the WebGPU EP.
 * Tolerance: the head's product in fp16 (hidden states rounded to fp16, fp16 accumulation on the GPU) moves
 * the loss by ~1e-4 relative and the gradients by ~1e-3; bounds 1e-3 and 2e-2.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { tableChunking, type WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { quantizeSource, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { probeWebGpu, resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { buildStepGraph, FLAT } from '../../../src-main/engine/train/step-graph.js';
import { batchFeeds } from '../train/batch-feeds.js';

const gpuError = await probeWebGpu();
const devices: DevicePref[] = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1' ? ['cpu', 'gpu'] : ['cpu'];

const CFG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 200,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  bos_token_id: 1,
  eos_token_id: 2,
};
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const [B, T] = [2, 10];
// 200 × 64 tables: 51,200 bytes in fp32, 25,600 in fp16; a 40,000-byte budget makes them "big"
const BUDGET = 40_000;

async function grads(tied: boolean, pref: DevicePref, big: boolean) {
  const dir = await writeRandomModel(mkdtempSync(path.join(os.tmpdir(), 'graft-htab-')), { ...CFG, tie_word_embeddings: tied }, { seed: 4, embedStd: 0.5 });
  const model = await loadModel(dir);
  const weights = quantWeightsFactory(quantizeSource(model.source, 'nf4', 'fp16'), { half: true }) as WeightsFactory;
  const saved = tableChunking.bytes;
  tableChunking.bytes = BUDGET;
  let sg;
  try {
    // `big` false: the same budget with fp16 tables refused, i.e. fp32 row chunks (the form before halfTable)
    sg = buildStepGraph({ spec: model.spec, source: model.source, lora: LORA, batch: B, seq: T, purpose: 'grads', weights: big ? weights : fp32Tables(weights) });
  } finally {
    tableChunking.bytes = saved;
  }
  const inits = [...sg.graph.initializers.keys()];
  const tables = inits.filter((v) => v.shape.length === 2 && v.shape[0] === CFG.vocab_size).map((v) => v.dtype);
  const rowChunks = inits.filter((v) => /\.rows\d+$/.test(v.name)).length;
  const session = await GraphSession.create(sg.graph, { device: await resolveDevice(pref) });
  let seed = 5;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(((rand() + 1) / 2) * CFG.vocab_size));
  const out = await session.run({
    ...batchFeeds(ids, B, T),
    [FLAT]: { dtype: 'float32', shape: [sg.size], data: Float32Array.from({ length: sg.size }, () => rand() * 0.3) },
  });
  await session.release();
  return { loss: (out.loss_sum as HostTensor).data[0] as number, grad: (out.grad as HostTensor).data as Float32Array, tables, rowChunks };
}

/** The factory with halfTable's condition never met: tables as fp32 chunks (GraphWeights). */
function fp32Tables(f: WeightsFactory): WeightsFactory {
  return (g, s, dtype, overrides) => {
    const w = f(g, s, dtype, overrides);
    Object.defineProperty(w, 'half', { value: false });
    return w;
  };
}

describe.each(devices)('fp16 tables of the QLoRA fp16 step on %s', (pref) => {
  it.each([
    ['untied', false],
    ['tied', true],
  ])('%s: one fp16 table each instead of fp32 chunks; loss and gradients match', async (_n, tied) => {
    const half = await grads(tied as boolean, pref, true);
    const f32 = await grads(tied as boolean, pref, false);
    expect(half.tables).toEqual(tied ? ['float16'] : ['float16', 'float16']);
    expect(half.rowChunks).toBe(0);
    expect(f32.tables).toEqual([]);
    expect(f32.rowChunks).toBe(tied ? 2 : 4);
    expect(Math.abs(half.loss - f32.loss) / Math.abs(f32.loss)).toBeLessThan(1e-3);
    let d2 = 0,
      n2 = 0;
    for (let i = 0; i < f32.grad.length; i++) [d2, n2] = [d2 + (half.grad[i] - f32.grad[i]) ** 2, n2 + f32.grad[i] ** 2];
    expect(n2).toBeGreaterThan(0);
    console.log(`${_n} on ${pref}: loss ${half.loss} vs ${f32.loss}, gradient rel. RMS ${Math.sqrt(d2 / n2).toExponential(2)}`);
    expect(Math.sqrt(d2 / n2)).toBeLessThan(2e-2);
  });
});
