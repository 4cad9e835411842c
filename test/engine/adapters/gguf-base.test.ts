/** A real llama.cpp base (stories260K GGUF: 8 heads, 4 KV heads, 5 layers): merge and GGUF LoRA round trips, by logits. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AdapterWeights } from '../../../src-main/engine/adapters/adapter-weights.js';
import { readAdapterWeights, writePeftFiles } from '../../../src-main/engine/adapters/compat.js';
import { exportGgufLora, ggufLoraToPeft } from '../../../src-main/engine/adapters/gguf-lora.js';
import { LORA_TARGETS, peftTensorName } from '../../../src-main/engine/adapters/lora-config.js';
import { targetDims } from '../../../src-main/engine/adapters/lora.js';
import { exportMergedModel, mergedWeight } from '../../../src-main/engine/adapters/merge.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { permuteRows } from '../../../src-main/engine/io/gguf-hf.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { FIX, maxAbsDiff, tmp } from './helpers.js';

const STORIES = path.resolve(FIX, '../../models/stories260K/stories260K.gguf');

function randomAdapter(spec: Parameters<typeof targetDims>[0], r: number, seed: number): AdapterWeights {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.2;
  const tensors = new Map<string, Float32Array>();
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const t of LORA_TARGETS) {
      const d = targetDims(spec, t);
      tensors.set(peftTensorName(layer, t, 'A'), Float32Array.from({ length: r * d.in }, rand));
      tensors.set(peftTensorName(layer, t, 'B'), Float32Array.from({ length: d.out * r }, rand));
    }
  }
  return { r, alpha: 2 * r, rslora: false, targets: [...LORA_TARGETS], tensors };
}

describe('adapters on a GGUF base', () => {
  it('merged export of a GGUF base + adapter gives the logits of the adapter applied live', async () => {
    const base = await loadModel(STORIES);
    const adapter = randomAdapter(base.spec, 2, 7);
    const ids = [[1, 20, 30, 40, 50, 60, 70, 80]];
    const live = await computeLogits(base, ids, { adapters: [{ weights: adapter }] });
    expect(maxAbsDiff(live, await computeLogits(base, ids))).toBeGreaterThan(1e-3);
    const out = path.join(tmp('gguf-merge'), 'merged');
    await exportMergedModel(base.source, adapter, out);
    // A complete Hugging Face folder (issue 18 item 2): the tokenizer and generation files come from the GGUF.
    expect(readdirSync(out).sort()).toEqual([
      'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    const merged = await loadModel(out);
    expect(maxAbsDiff(await computeLogits(merged, ids), live)).toBeLessThanOrEqual(1e-4);
    const [tokG, tokM] = [(await base.source.tokenizer())!, (await merged.source.tokenizer())!];
    for (const text of ['Once upon a time, Lily saw a cat.', '  two  spaces\nand a newline', 'ünïcödé 😀 bytes']) {
      expect(tokM.encode(text, { addSpecial: true })).toEqual(tokG.encode(text, { addSpecial: true }));
      expect(tokM.decode(tokG.encode(text))).toBe(tokG.decode(tokG.encode(text)));
    }
    expect([tokM.bosId, tokM.eosIds]).toEqual([tokG.bosId, tokG.eosIds]);
    expect(JSON.parse(readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
    expect(JSON.parse(readFileSync(path.join(out, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: 2 });
    merged.source.close();
    base.source.close();
  }, 120_000);

  it('GGUF LoRA export and import keep the adapter exact with grouped-query Q/K permutation', async () => {
    const base = await loadModel(STORIES);
    const adapter = randomAdapter(base.spec, 3, 11);
    const dir = tmp('gguf-peft-src');
    await writePeftFiles(dir, adapter);
    const gguf = path.join(tmp('gguf-out'), 'a.gguf');
    await exportGgufLora(dir, base.source.config, gguf);
    const back = tmp('gguf-back');
    await ggufLoraToPeft(gguf, back, base.source.config);
    const restored = readAdapterWeights(back);
    for (const [n, t] of adapter.tensors) expect(maxAbsDiff(restored.tensors.get(n)!, t)).toBe(0);
    // in llama.cpp's own space: raw GGUF q weight + s·B_gguf·A_gguf must equal llama.cpp's row order of the HF merge
    const g = openGguf(STORIES), lg = openGguf(gguf);
    const rawQ = g.readF32('blk.2.attn_q.weight');
    const merged = mergedWeight(base.source.readF32('model.layers.2.self_attn.q_proj.weight'), adapter.tensors.get(peftTensorName(2, 'q', 'A'))!, adapter.tensors.get(peftTensorName(2, 'q', 'B'))!, 64, 64, 3, 2);
    const inGgufSpace = mergedWeight(rawQ, lg.readF32('blk.2.attn_q.weight.lora_a'), lg.readF32('blk.2.attn_q.weight.lora_b'), 64, 64, 3, 2);
    expect(maxAbsDiff(inGgufSpace, permuteRows(merged, 64, 64, 8))).toBeLessThan(1e-6);
    expect(maxAbsDiff(inGgufSpace, merged)).toBeGreaterThan(1e-3); // the permutation is not a no-op here
    g.close();
    lg.close();
    const ids = [[1, 5, 9, 13]];
    expect(maxAbsDiff(await computeLogits(base, ids, { adapters: [{ weights: restored }] }), await computeLogits(base, ids, { adapters: [{ weights: adapter }] }))).toBe(0);
    base.source.close();
  }, 120_000);
});
