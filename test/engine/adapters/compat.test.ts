import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseShapesOf, checkCompatibility, inspectPeftAdapter } from '../../../src-main/engine/adapters/compat.js';
import { openModelSource } from '../../../src-main/engine/io/model-source.js';
import { AdapterLibrary } from '../../../src-main/store/library.js';
import { importAdapter } from '../../../src-main/store/import.js';
import { GraftError } from '../../../src-main/engine/errors.js';
import { FIX, tmp } from './helpers.js';

const STORIES = path.resolve(FIX, '../../models/stories260K/stories260K.gguf');

function caught(fn: () => void): GraftError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GraftError) return err;
    throw err;
  }
  throw new Error('expected a GraftError');
}

describe('compatibility check', () => {
  it('passes an adapter against its own base', async () => {
    const base = await openModelSource(path.join(FIX, 'llama/model'));
    const info = inspectPeftAdapter(path.join(FIX, 'llama/adapter'));
    expect(() => checkCompatibility({ ...info, arch: 'llama' }, baseShapesOf(base))).not.toThrow();
    base.close();
  });

  it('refuses the qwen2 adapter on the llama base, naming the architecture and the first target tensor (acceptance 2)', async () => {
    const base = await openModelSource(path.join(FIX, 'llama/model'));
    const info = inspectPeftAdapter(path.join(FIX, 'qwen2/adapter'));
    const err = caught(() => checkCompatibility({ ...info, arch: 'Qwen2ForCausalLM' }, baseShapesOf(base)));
    expect(err.code).toBe('INCOMPATIBLE');
    expect(err.message).toMatch(/made for a Qwen2ForCausalLM model but base .* is llama \(first target tensor: base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight\)/);
    expect(err.where).toBe('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    base.close();
  });

  it('through the library: an import against a mismatched base fails and adds nothing', async () => {
    const root = tmp('compat-lib');
    const lib = await AdapterLibrary.open(root);
    const base = await openModelSource(path.join(FIX, 'llama/model'));
    await expect(importAdapter(lib, path.join(FIX, 'qwen2/adapter'), { arch: 'qwen2', base: { ref: { id: 'llama-fixture', arch: 'llama' }, shapes: baseShapesOf(base) } }))
      .rejects.toThrow(/made for a qwen2 model but base .*llama\/model is llama/);
    expect((await lib.list()).entries).toHaveLength(0);
    // the matching base is accepted and recorded
    const ok = await importAdapter(lib, path.join(FIX, 'llama/adapter'), { base: { ref: { id: 'llama-fixture', arch: 'llama' }, shapes: baseShapesOf(base) } });
    expect(ok.meta.base).toEqual({ id: 'llama-fixture', arch: 'llama' });
    base.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('names the first tensor whose shape does not fit', async () => {
    const base = await openModelSource(path.join(FIX, 'llama/model'));
    const shapes = baseShapesOf(base);
    const info = inspectPeftAdapter(path.join(FIX, 'qwen2/adapter'));
    const narrowV = { ...shapes, shapeOf: (n: string) => (n === 'model.layers.1.self_attn.v_proj.weight' ? [16, 64] : shapes.shapeOf(n)) };
    const err = caught(() => checkCompatibility(info, narrowV));
    expect(err.message).toMatch(/tensor base_model\.model\.model\.layers\.1\.self_attn\.v_proj\.lora_B\.weight has shape \[32,4\] but base .*'s model\.layers\.1\.self_attn\.v_proj\.weight is \[16,64\], so it needs \[16, r\]/);
    expect(err.where).toBe('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight');
    base.close();
  });

  it('refuses a base with another layer count or other widths (stories260K GGUF)', async () => {
    const stories = await openModelSource(STORIES);
    const info = inspectPeftAdapter(path.join(FIX, 'llama/adapter'));
    const err = caught(() => checkCompatibility(info, baseShapesOf(stories)));
    expect(err.message).toMatch(/covers 2 layers but base .*stories260K\.gguf has 5/);
    // with the layer count out of the way (an adapter for some layers only), the first shape mismatch is named
    const err2 = caught(() => checkCompatibility({ ...info, layersToTransform: [0, 1] }, baseShapesOf(stories)));
    expect(err2.code).toBe('INCOMPATIBLE');
    expect(err2.where).toMatch(/^base_model\.model\.model\.layers\.0\./);
    stories.close();
  });
});
