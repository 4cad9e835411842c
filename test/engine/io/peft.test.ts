import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePeftName, readPeftAdapter, writePeftAdapter, type PeftTensorToWrite } from '../../../src-main/engine/io/peft.js';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { inspectPeftAdapter, parseLoraTensorName } from '../../../src-main/engine/adapters/compat.js';
import { FIX, expectGraftError, tmp } from './helpers.js';

describe('PEFT adapters', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3']) {
    it(`${arch}: reads config and tensors; writes back byte-identical tensors and an equivalent config`, async () => {
      const src = `${FIX}/${arch}/adapter`;
      const expected = JSON.parse(readFileSync(`${FIX}/${arch}/expected.json`, 'utf8'));
      const a = readPeftAdapter(src);
      expect(a.config.r).toBe(expected.lora_r);
      expect(a.config.lora_alpha).toBe(expected.lora_alpha);
      expect([...a.config.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
      expect(a.config.use_rslora).toBe(false);
      const qa = a.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!;
      expect(qa.shape[0]).toBe(expected.lora_r);
      expect(qa.data.length).toBe(qa.shape[0] * qa.shape[1]);

      const out = join(tmp('peft'), 'exported');
      await writePeftAdapter(out, a);
      expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
      const orig = openSafetensors(`${src}/adapter_model.safetensors`), back = openSafetensors(`${out}/adapter_model.safetensors`);
      expect(back.names().sort()).toEqual(orig.names().sort());
      for (const n of orig.names()) {
        expect(back.info(n).dtype).toBe(orig.info(n).dtype);
        expect(back.info(n).shape).toEqual(orig.info(n).shape);
        expect(Buffer.compare(back.readRaw(n), orig.readRaw(n))).toBe(0);
      }
      const cfgBack = JSON.parse(readFileSync(`${out}/adapter_config.json`, 'utf8'));
      expect(cfgBack).toEqual(JSON.parse(readFileSync(`${src}/adapter_config.json`, 'utf8')));
    });
  }

  it('writes a fresh adapter from float data with a complete PEFT config; replaces an existing folder', async () => {
    const out = join(tmp('peft'), 'new');
    const tensors = new Map<string, PeftTensorToWrite>([
      ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', { dtype: 'BF16', shape: [4, 2], data: new Float32Array(8).fill(0.5) }],
    ]);
    await writePeftAdapter(out, { config: { r: 2, lora_alpha: 4, target_modules: ['q_proj'], use_rslora: true }, tensors });
    let a = readPeftAdapter(out);
    expect(a.config.raw.peft_type).toBe('LORA');
    expect(a.config.raw.task_type).toBe('CAUSAL_LM');
    expect(a.config.use_rslora).toBe(true);
    expect(a.config.raw.bias).toBe('none');
    expect(Array.from(a.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.data)).toEqual(new Array(8).fill(0.5));
    tensors.delete('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight');
    await expectGraftError(() => writePeftAdapter(out, { config: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] }, tensors }), 'BAD_FILE', 'lora_B');
    a = readPeftAdapter(out); // the failed write left the old folder intact
    expect(a.tensors.size).toBe(2);
    expect(readdirSync(join(out, '..'))).toEqual(['new']);
    await writePeftAdapter(out, { config: { r: 2, lora_alpha: 8, target_modules: ['q_proj'] }, tensors: new Map() });
    expect(readPeftAdapter(out).config.lora_alpha).toBe(8);
    expect(readdirSync(join(out, '..'))).toEqual(['new']);
  });

  it('bad folders give errors naming the file', async () => {
    const d = tmp('peftbad');
    await expectGraftError(() => readPeftAdapter(d), 'NOT_FOUND', 'adapter_config.json');
    cpSync(`${FIX}/llama/adapter`, d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, use_dora: true }));
    await expectGraftError(() => readPeftAdapter(d), 'UNSUPPORTED', 'use_dora');
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, r: 0 }));
    await expectGraftError(() => readPeftAdapter(d), 'BAD_FILE', 'adapter_config.json', '"r" should be a positive integer, got 0');
    writeFileSync(join(d, 'adapter_config.json'), '{ nope');
    await expectGraftError(() => readPeftAdapter(d), 'BAD_FILE', 'adapter_config.json');
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify(cfg));
    const w = readFileSync(join(d, 'adapter_model.safetensors'));
    writeFileSync(join(d, 'adapter_model.safetensors'), w.subarray(0, w.length - 8));
    await expectGraftError(() => readPeftAdapter(d), 'BAD_FILE', 'adapter_model.safetensors');
  });

  it('the loader and the import check read a config with one parser: the same bad file gets the same refusal', async () => {
    const d = tmp('peftone');
    cpSync(`${FIX}/llama/adapter`, d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'adapter_config.json'), 'utf8'));
    for (const [bad, code, text] of [
      [{ lora_alpha: null }, 'BAD_FILE', '"lora_alpha" should be a number, got null'],
      [{ r: 2.5 }, 'BAD_FILE', '"r" should be a positive integer, got 2.5'],
      [{ rank_pattern: { q_proj: 4 } }, 'UNSUPPORTED', 'per-module rank_pattern'],
      [{ peft_type: 'IA3' }, 'UNSUPPORTED', 'peft_type "IA3" is not supported (only LORA)'],
    ] as const) {
      writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, ...bad }));
      const a = await expectGraftError(() => readPeftAdapter(d), code, text);
      const b = await expectGraftError(() => inspectPeftAdapter(d), code, text);
      expect(b.message).toBe(a.message);
    }
  });

  it('parses PEFT names (the import check\'s LoRA targets through the same parser)', () => {
    expect(parseLoraTensorName('base_model.model.model.layers.3.mlp.up_proj.lora_A.default.weight')).toEqual({ layer: 3, target: 'up', factor: 'A' });
    expect(parseLoraTensorName('base_model.model.model.layers.3.mlp.up_proj.lora_A.other.weight')).toBeUndefined();
    expect(parseLoraTensorName('base_model.model.lm_head.lora_A.weight')).toBeUndefined();
    expect(parsePeftName('base_model.model.model.layers.3.mlp.up_proj.lora_B.weight')).toEqual({ module: 'model.layers.3.mlp.up_proj', layer: 3, factor: 'B' });
    expect(parsePeftName('base_model.model.model.layers.3.mlp.up_proj.lora_A.default.weight')?.factor).toBe('A');
    expect(parsePeftName('base_model.model.lm_head.weight')).toBeNull();
  });
});
