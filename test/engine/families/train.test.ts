/**
 * Training end to end on the new families (`trainAdapter`, what `graft train` and the GUI run): the
 * fixture models as GGUF with stories260K's 512-token vocabulary (the fixtures' vocabulary size; they
 * ship no tokenizer of their own). The GUI's target list (q, k, v, o, gate, up, down) trains Phi-3's
 * fused qkv_proj / gate_up_proj, and the adapter written is PEFT's, fitting its base.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseShapesOf, checkCompatibility, inspectPeftAdapter, readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { parseTrainOptions } from '../../../src-main/engine/options/train.js';
import { trainAdapter } from '../../../src-main/engine/train/train-adapter.js';
import { writeLlamaCppLikeGguf } from './fixtures.js';

const STORIES = path.resolve(import.meta.dirname, '../../../../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-more-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const g = openGguf(STORIES);
const vocab = Object.fromEntries(Object.entries(g.metadata).filter(([k]) => k.startsWith('tokenizer.')));
g.close();
const data = path.join(dir, 'stories.txt');
writeFileSync(data, Array.from({ length: 12 }, (_, i) => `Sue found a ${['shell', 'stone', 'leaf'][i % 3]} by the sea. She smiled.`).join('\n\n'));

describe.each([
  ['phi3', 'qlora', ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj']],
  ['gemma3', 'lora', ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']],
  ['smollm3', 'lora', ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']],
] as const)('%s', (arch, method, modules) => {
  it(`${method}: trains, and writes a PEFT adapter of ${modules.join(', ')} that fits its base`, async () => {
    const model = path.join(dir, `${arch}.gguf`);
    await writeLlamaCppLikeGguf(arch, model, vocab);
    const out = path.join(dir, `${arch}-adapter`);
    const losses: number[] = [];
    await trainAdapter(
      {
        model, data, out,
        options: parseTrainOptions({
          method, rank: 4, alpha: 8, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'],
          lr: 1e-2, steps: 4, batch: 2, seqLen: 16, schedule: 'constant', seed: 1, device: 'cpu',
        }),
      },
      { onEvent: (e) => void (e.type === 'step' && losses.push(e.loss)) },
    );
    expect(losses.length).toBe(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    const info = inspectPeftAdapter(out);
    expect([...(info.rawConfig.target_modules as string[])].sort()).toEqual([...modules].sort());
    const base = await loadModel(model);
    checkCompatibility({ tensors: info.tensors, numLayers: info.numLayers }, baseShapesOf(base.source));
    const logits = await computeLogits(base, [[1, 5, 9, 13]], { adapters: [{ weights: readAdapterWeights(out) }] });
    expect(logits.every(Number.isFinite)).toBe(true);
    base.source.close();
  }, 120_000);
});
