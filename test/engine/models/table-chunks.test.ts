/**
 * fp32 tables over `tableChunking.bytes` are held as row chunks (models/weights.ts): ORT's WebGPU EP refuses
 * a 2.1 GB table on 128 MiB storage ranges (17 segments, 16 buffers per shader). Checked at a small size with
 * the threshold lowered: the chunked embedding lookup and LM head train exactly as the whole tables do,
 * untied and tied, on the CPU and the WebGPU EP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { tableChunking } from '../../../src-main/engine/models/weights.js';
import { probeWebGpu, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { buildStepGraph } from '../../../src-main/engine/train/step-graph.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';

const gpuError = await probeWebGpu();
const devices: DevicePref[] = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1' ? ['cpu', 'gpu'] : ['cpu'];
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-table-chunks-'));
const cacheBefore = process.env.GRAFT_GRAPH_CACHE;
const chunkBefore = tableChunking.bytes;
afterAll(() => {
  tableChunking.bytes = chunkBefore;
  if (cacheBefore === undefined) delete process.env.GRAFT_GRAPH_CACHE;
  else process.env.GRAFT_GRAPH_CACHE = cacheBefore;
  rmSync(dir, { recursive: true, force: true });
});

// 100 words × 32 wide = 12,800 bytes: a 4,300-byte threshold makes chunks of 34, 34 and 32 rows.
const V = 100;
const LORA = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LORA_TARGETS] };

describe.each(devices)('tables as row chunks (%s)', (device) => {
  it.each([false, true])('train as the whole tables do (tied %s)', async (tied) => {
    const model = await loadModel(await writeRandomModel(path.join(dir, `m-${tied}-${device}`), { ...TINY_LLAMA, vocab_size: V, tie_word_embeddings: tied }, { seed: 3, embedStd: 1 }));
    // ids over every chunk, the first and last row of each included
    const ids = Int32Array.from([0, 33, 34, 67, 68, 99, 5, 50, 98, 1, 35, 70, 2, 66, 69, 97]);
    const batch = { inputIds: ids, labels: ids, batch: 2, seqLen: 8 };
    const curves: number[][] = [];
    for (const bytes of [chunkBefore, 4300]) {
      tableChunking.bytes = bytes;
      // a graph cache of its own: the saved graphs' keys do not name the threshold
      process.env.GRAFT_GRAPH_CACHE = path.join(dir, `cache-${bytes}-${tied}-${device}`);
      const r = await createStepRunner({ source: model.source, spec: model.spec, lora: LORA, device, batch: 2, seqLen: 8, seed: 1 });
      const losses: number[] = [];
      for (let s = 1; s <= 3; s++) {
        const o = await r.step(batch, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s, maxGradNorm: 1 });
        losses.push(o.lossSum / o.tokens, o.gradNorm);
      }
      await r.dispose();
      curves.push(losses);
      const nodes = buildStepGraph({ spec: model.spec, source: model.source, lora: LORA, batch: 1, seq: 4, purpose: 'step' }).graph.nodes;
      const tableReads = nodes.filter((n) => n.inputs.some((i) => i?.name.startsWith('model.embed_tokens.weight') || i?.name.startsWith('lm_head.weight')));
      // whole: the lookup's Gather, the head's Gemm and its gradient's (dHidden = dLogits·W); chunked: three of each
      expect(tableReads.length).toBe(bytes === 4300 ? 9 : 3);
    }
    curves[1].forEach((x, i) => expect(Math.abs(x - curves[0][i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(curves[0][i]))));
    expect(curves[1][4]).toBeLessThan(curves[1][0]);
  }, 120_000);
});
