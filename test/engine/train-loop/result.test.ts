import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { readPeftWeights } from '../../../src-main/engine/adapters/compat.js';
import { peftTensorName, type LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { assertFits, estimateTrainingMemory } from '../../../src-main/engine/train/memory-estimate.js';
import { cliName } from '../../../src-main/cli/commands/schema-flags.js';
import type { GraftError } from '../../../src-main/engine/errors.js';
import { wordError } from '../../../src-main/engine/options/word-error.js';
import { modelContentHash } from '../../../src-main/engine/io/content-hash.js';
import { writeTrainingResult } from '../../../src-main/engine/train/result.js';
import type { TensorMap } from '../../../src-main/engine/train/types.js';
import { parseAdapterMeta } from '../../../src-main/store/adapter-meta.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-result-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const smol: HfConfig = JSON.parse(
  readFileSync(new URL('../../../../shared/models/smollm2-135m-instruct-tokenizer/config.json', import.meta.url), 'utf8'),
);

describe('memory estimate', () => {
  const lora = { r: 16, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as LoraConfig['targets'] };
  const e1x256 = (config: HfConfig) => estimateTrainingMemory({ config, lora, batch: 1, seqLen: 256 }).total;

  test('counts SmolLM2-135M parameters and LoRA parameters from the config', () => {
    const e = estimateTrainingMemory({ config: smol, lora, batch: 4, seqLen: 256 });
    // 134.5M parameters (tied embeddings) in fp32, held four times over while sessions are created
    expect(e.weights / 16).toBeGreaterThan(134e6);
    expect(e.weights / 16).toBeLessThan(135e6);
    // per layer: q 16·(576+576), k,v 16·(576+192), o 16·(576+576), gate/up 16·(576+1536), down 16·(1536+576)
    expect(e.loraParams).toBe(30 * 16 * (1152 * 2 + 768 * 2 + 2112 * 3));
    expect(e.total).toBe(e.weights + e.optimizer + e.activations + e.overhead);
    // calibration: measured peak RSS of the CPU step runner at 1×256 on these shapes was 3.49 GiB
    expect(e1x256(smol) / 2 ** 30).toBeGreaterThan(3.45);
    expect(e1x256(smol) / 2 ** 30).toBeLessThan(3.9);
    const bigger = estimateTrainingMemory({ config: smol, lora, batch: 8, seqLen: 512 });
    expect(bigger.activations).toBeGreaterThan(3 * e.activations);
    // activation checkpointing keeps each layer's input and one layer's values: 30 layers → a small fraction
    const recomputed = estimateTrainingMemory({ config: smol, lora, batch: 8, seqLen: 512, recomputeActivations: true });
    expect(recomputed.activations).toBeLessThan(bigger.activations / 4);
    expect(recomputed.weights).toBe(bigger.weights);
    // On a GPU this machine holds the weights about once while they upload; the rest is the GPU's
    const gpu = estimateTrainingMemory({ config: smol, lora, batch: 8, seqLen: 512, onGpu: true });
    expect(gpu.total).toBeLessThan(bigger.weights / 2);
    expect(gpu.gpu).toBeGreaterThan(gpu.activations + gpu.optimizer);
    // the GPU holds the weights once (the CPU estimate counts four copies while sessions are created), and the
    // activations with the EP's buffers in flight (EP_TRANSIENT = 1.85 of them) and 10% overhead
    expect((gpu.gpu! - (1 + 1.85 + 0.1) * gpu.activations - gpu.optimizer) / (bigger.weights / 4)).toBeCloseTo(1, 5);
  });

  test('refuses with the breakdown and what to change', () => {
    const e = estimateTrainingMemory({ config: smol, lora, batch: 4, seqLen: 256 });
    expect(() => assertFits(e, e.total + 1)).not.toThrow();
    expect(() => assertFits(e, 100 * 2 ** 20, 'the GPU')).toThrow(
      /training needs about .* \(weights 2\.0 GiB, .*\) but the GPU has 100 MiB free; lower \{batch\} or \{seqLen\}/,
    );
    // The options are named by key; the CLI words them as its flags.
    let err: GraftError | undefined;
    try {
      assertFits(e, 100 * 2 ** 20, 'the GPU');
    } catch (x) {
      err = x as GraftError;
    }
    expect(wordError(err!, cliName)).toMatch(/lower --batch or --seq-len \(raise --grad-accum .*\), lower --rank, or use --method qlora$/);
  });
});

describe('result folder', () => {
  test('PEFT files load back and graft.json passes the library parser', async () => {
    const cfg: LoraConfig = { r: 2, alpha: 4, dropout: 0.05, targets: ['q', 'v'], rslora: false };
    const lora: TensorMap = new Map();
    for (const layer of [0, 1])
      for (const t of cfg.targets) {
        lora.set(peftTensorName(layer, t, 'A'), { shape: [2, 8], data: Float32Array.from({ length: 16 }, (_, i) => i + layer) });
        lora.set(peftTensorName(layer, t, 'B'), { shape: [8, 2], data: Float32Array.from({ length: 16 }, (_, i) => -i - layer) });
      }
    const out = join(dir, 'run');
    await writeTrainingResult(out, lora, {
      name: 'my run',
      base: { id: 'stories260K.gguf', arch: 'LlamaForCausalLM', hash: 'ab'.repeat(32) },
      dataset: { name: 'd.txt', hash: 'cd'.repeat(32) },
      method: 'lora',
      lora: cfg,
      hyperparameters: { lr: 1e-3, steps: 3 },
      finalTrainLoss: 1.5,
      finalEvalLoss: 1.7,
      tokensSeen: 1234,
      steps: 3,
      durationMs: 4200,
      device: 'cpu',
      history: [
        { step: 1, loss: 2, lr: 1e-3, gradNorm: 1, tokens: 10 },
        { step: 2, loss: 1.5, lr: 1e-3, gradNorm: 1, tokens: 10, evalLoss: 1.7 },
      ],
    });
    const back = readPeftWeights(out);
    expect(back.r).toBe(2);
    expect(back.alpha).toBe(4);
    expect(back.targets).toEqual(['q', 'v']);
    expect(Array.from(back.tensors.get(peftTensorName(1, 'v', 'B'))!)).toEqual(Array.from(lora.get(peftTensorName(1, 'v', 'B'))!.data));
    const raw = JSON.parse(readFileSync(join(out, 'graft.json'), 'utf8'));
    const meta = parseAdapterMeta(raw, 'graft.json');
    expect(meta.base).toEqual({ id: 'stories260K.gguf', arch: 'LlamaForCausalLM', hash: 'ab'.repeat(32) });
    expect(meta.dataset).toEqual({ name: 'd.txt', hash: 'cd'.repeat(32) });
    expect(meta.metrics).toMatchObject({ finalTrainLoss: 1.5, finalEvalLoss: 1.7, tokensSeen: 1234, durationSec: 4.2 });
    expect(meta.hyperparameters).toMatchObject({ lr: 1e-3, dropout: 0.05 });
    expect(meta.lossCurve).toEqual([
      { step: 1, loss: 2 },
      { step: 2, loss: 1.5, evalLoss: 1.7 },
    ]);
    expect(raw.training.device).toBe('cpu');
  });

  test('model content hash is the sha256 of a single file', async () => {
    const f = join(dir, 'm.gguf');
    writeFileSync(f, 'not really a model');
    expect(await modelContentHash(f)).toBe(createHash('sha256').update('not really a model').digest('hex'));
  });
});
