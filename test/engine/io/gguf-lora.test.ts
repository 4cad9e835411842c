import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readGgufLora, writeGgufLora } from '../../../src-main/engine/io/gguf-lora.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { permuteRows } from '../../../src-main/engine/io/gguf-hf.js';
import { GgufValueType } from '../../../src-main/engine/io/gguf-types.js';
import { readPeftAdapter } from '../../../src-main/engine/io/peft.js';
import { readHfConfig } from '../../../src-main/engine/io/model-source.js';
import { FIX, STORIES, expectGraftError, tmp } from './helpers.js';

describe('llama.cpp GGUF LoRA', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3']) {
    it(`${arch}: PEFT -> GGUF LoRA -> PEFT reproduces every tensor and alpha`, async () => {
      const base = readHfConfig(`${FIX}/${arch}/model/config.json`);
      const peft = readPeftAdapter(`${FIX}/${arch}/adapter`);
      const p = join(tmp('glora'), 'a.gguf');
      await writeGgufLora(p, peft, base);
      const g = openGguf(p);
      expect(g.metadata['general.type']).toBe('adapter');
      expect(g.metadata['adapter.type']).toBe('lora');
      expect(g.metadataTypes['adapter.lora.alpha']).toBe(GgufValueType.FLOAT32);
      expect(g.metadata['adapter.lora.alpha']).toBe(peft.config.lora_alpha);
      expect(g.metadata['general.architecture']).toBe(arch);
      const pa = 'base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight';
      const pb = 'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight';
      const A = peft.tensors.get(pa)!, B = peft.tensors.get(pb)!;
      expect(g.info('blk.1.attn_q.weight.lora_a').shape).toEqual(A.shape);
      expect(g.info('blk.1.attn_q.weight.lora_b').shape).toEqual(B.shape);
      // llama.cpp's shape rule: a.ne[0] = in, b.ne[1] = out, a.ne[1] = b.ne[0] = r
      expect(g.info('blk.1.attn_q.weight.lora_a').dims).toEqual([A.shape[1], A.shape[0]]);
      expect(Array.from(g.readF32('blk.1.attn_q.weight.lora_a'))).toEqual(Array.from(A.data));
      const onDiskB = Array.from(g.readF32('blk.1.attn_q.weight.lora_b'));
      if (arch === 'llama') expect(onDiskB).toEqual(Array.from(permuteRows(B.data, B.shape[0], B.shape[1], base.num_attention_heads)));
      else expect(onDiskB).toEqual(Array.from(B.data));
      g.close();

      const back = readGgufLora(p, base);
      expect(back.config.r).toBe(peft.config.r);
      expect(back.config.lora_alpha).toBe(peft.config.lora_alpha);
      expect([...back.config.target_modules].sort()).toEqual([...peft.config.target_modules].sort());
      expect([...back.tensors.keys()].sort()).toEqual([...peft.tensors.keys()].sort());
      for (const [n, t] of peft.tensors) expect(Array.from(back.tensors.get(n)!.data)).toEqual(Array.from(t.data));
    });
  }

  it('rsLoRA scale survives as alpha*sqrt(r); non-adapter GGUF and wrong base are refused', async () => {
    const base = readHfConfig(`${FIX}/llama/model/config.json`);
    const peft = readPeftAdapter(`${FIX}/llama/adapter`);
    const p = join(tmp('glora'), 'rs.gguf');
    await writeGgufLora(p, { ...peft, config: { ...peft.config, use_rslora: true } }, base);
    const back = readGgufLora(p, base);
    expect(back.config.lora_alpha / back.config.r).toBeCloseTo(peft.config.lora_alpha / Math.sqrt(peft.config.r), 6);
    await expectGraftError(() => readGgufLora(STORIES, base), 'BAD_INPUT', STORIES, 'adapter');
    await expectGraftError(() => readGgufLora(p, readHfConfig(`${FIX}/qwen2/model/config.json`)), 'INCOMPATIBLE', 'qwen2');
  });

  it('refuses an adapter.lora.alpha that is not a finite number (issue 15 item 6)', async () => {
    const base = readHfConfig(`${FIX}/llama/model/config.json`);
    const peft = readPeftAdapter(`${FIX}/llama/adapter`);
    const p = join(tmp('glora'), 'nan.gguf');
    await writeGgufLora(p, { ...peft, config: { ...peft.config, lora_alpha: NaN } }, base);
    expect(Number.isNaN(openGguf(p).metadata['adapter.lora.alpha'])).toBe(true);
    await expectGraftError(() => readGgufLora(p, base), 'BAD_FILE', p, 'adapter.lora.alpha');
  });
});
