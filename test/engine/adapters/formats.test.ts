/** Acceptance 3-5: GGUF LoRA export, merged export and exact blend, judged by logits against the HF/PEFT fixtures. */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blendAdapters } from '../../../src-main/engine/adapters/blend.js';
import { readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import { exportGgufLora, ggufLoraToPeft } from '../../../src-main/engine/adapters/gguf-lora.js';
import { exportMergedModel, mergedWeight } from '../../../src-main/engine/adapters/merge.js';
import { peftTensorName } from '../../../src-main/engine/adapters/lora-config.js';
import { encodeBf16 } from '../../../src-main/engine/io/half.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { readGgufLora } from '../../../src-main/engine/io/gguf-lora.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { openSafetensors, writeSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { adapterWeightsFromPeft } from '../../../src-main/engine/adapters/compat.js';
import { FIX, maxAbsDiff, reference, tmp } from './helpers.js';

describe('adapter export formats, judged by logits', () => {
  for (const arch of ['llama', 'qwen2']) {
    it(`${arch}: GGUF LoRA export read back reproduces the fixture's LoRA logits (acceptance 3)`, async () => {
      const model = await loadModel(path.join(FIX, arch, 'model'));
      const out = path.join(tmp('gguf'), 'adapter.gguf');
      await exportGgufLora(path.join(FIX, arch, 'adapter'), model.source.config, out);
      const g = openGguf(out);
      expect([g.metadata['general.type'], g.metadata['adapter.type'], g.metadata['adapter.lora.alpha'], g.metadata['general.architecture']]).toEqual(['adapter', 'lora', 8, arch]);
      expect(g.names()).toContain('blk.1.attn_q.weight.lora_b');
      g.close();
      const back = adapterWeightsFromPeft(readGgufLora(out, model.source.config), out);
      const ref = reference(arch, 'lora_logits');
      const logits = await computeLogits(model, ref.ids, { adapters: [{ weights: back }] });
      expect(maxAbsDiff(logits, ref.logits)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(ref.logits, reference(arch, 'base_logits').logits)).toBeGreaterThan(1e-3); // the adapter matters
      // and the import path (GGUF -> PEFT files) gives the same factors as the original adapter
      const dir = tmp('gguf-peft');
      await ggufLoraToPeft(out, dir, model.source.config);
      const orig = readAdapterWeights(path.join(FIX, arch, 'adapter'));
      const imported = readAdapterWeights(dir);
      for (const [n, t] of orig.tensors) expect(maxAbsDiff(imported.tensors.get(n)!, t)).toBe(0);
      model.source.close();
    }, 120_000);
  }

  it('merged export reloaded as a plain model reproduces merged_logits (acceptance 4)', async () => {
    const base = await loadModel(path.join(FIX, 'llama/model'));
    const out = path.join(tmp('merged'), 'llama-merged');
    const { files, merged } = await exportMergedModel(base.source, readAdapterWeights(path.join(FIX, 'llama/adapter')), out);
    expect(merged).toBe(14);
    expect(files.sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    const st = openSafetensors(path.join(out, 'model.safetensors'));
    for (const n of base.source.names()) expect(st.info(n).dtype).toBe(base.source.dtype(n));
    // untouched tensors are bit-identical, adapted ones changed
    expect(Buffer.compare(st.readRaw('model.norm.weight'), Buffer.from(base.source.readF32('model.norm.weight').buffer))).toBe(0);
    expect(maxAbsDiff(st.readF32('model.layers.0.self_attn.q_proj.weight'), base.source.readF32('model.layers.0.self_attn.q_proj.weight'))).toBeGreaterThan(0);
    st.close();
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(path.join(FIX, 'llama/model/config.json'), 'utf8')));
    const model = await loadModel(out);
    const ref = reference('llama', 'merged_logits');
    expect(maxAbsDiff(await computeLogits(model, ref.ids), ref.logits)).toBeLessThanOrEqual(1e-4);
    model.source.close();
    base.source.close();
  }, 120_000);

  it('merged export keeps a bf16 base in bf16: untouched tensors bit-identical, merged ones rounded once', async () => {
    const src = await loadModel(path.join(FIX, 'llama/model'));
    const dir = tmp('bf16-base');
    copyFileSync(path.join(FIX, 'llama/model/config.json'), path.join(dir, 'config.json'));
    await writeSafetensors(path.join(dir, 'model.safetensors'), new Map(src.source.names().map((n) => [n, { dtype: 'BF16' as const, shape: src.source.shape(n), data: src.source.readF32(n) }])));
    src.source.close();
    const base = await loadModel(dir);
    const adapter = readAdapterWeights(path.join(FIX, 'llama/adapter'));
    const out = path.join(tmp('bf16-merged'), 'm');
    await exportMergedModel(base.source, adapter, out);
    const inp = openSafetensors(path.join(dir, 'model.safetensors'));
    const st = openSafetensors(path.join(out, 'model.safetensors'));
    for (const n of inp.names()) expect(st.info(n).dtype).toBe('BF16');
    expect(Buffer.compare(st.readRaw('model.layers.1.mlp.gate_proj.weight'), inp.readRaw('model.layers.1.mlp.gate_proj.weight'))).not.toBe(0);
    expect(Buffer.compare(st.readRaw('model.layers.1.input_layernorm.weight'), inp.readRaw('model.layers.1.input_layernorm.weight'))).toBe(0);
    const name = 'model.layers.1.mlp.gate_proj.weight';
    const want = mergedWeight(inp.readF32(name), adapter.tensors.get(peftTensorName(1, 'gate', 'A'))!, adapter.tensors.get(peftTensorName(1, 'gate', 'B'))!, 176, 64, 4, 2);
    expect(Buffer.compare(st.readRaw(name), encodeBf16(want))).toBe(0);
    inp.close();
    st.close();
    base.source.close();
  }, 120_000);

  it('an exact blend at (0.5, 0.5) equals applying both adapters at half scale (acceptance 5)', async () => {
    const model = await loadModel(path.join(FIX, 'llama/model'));
    const a = readAdapterWeights(path.join(FIX, 'llama/adapter'));
    // the qwen2 fixture's adapter has the same shapes: a second, different adapter for the llama base
    const b = readAdapterWeights(path.join(FIX, 'qwen2/adapter'));
    const blend = blendAdapters([{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.5 }]);
    expect(blend.mode).toBe('exact');
    expect(blend.weights.r).toBe(8);
    const { ids } = reference('llama', 'lora_logits');
    const both = await computeLogits(model, ids, { adapters: [{ weights: a, scale: 0.5 }, { weights: b, scale: 0.5 }] });
    const blended = await computeLogits(model, ids, { adapters: [{ weights: blend.weights }] });
    const onlyA = await computeLogits(model, ids, { adapters: [{ weights: a }] });
    expect(maxAbsDiff(blended, both)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(blended, onlyA)).toBeGreaterThan(1e-3); // the comparison can tell adapters apart
    model.source.close();
  }, 120_000);
});
