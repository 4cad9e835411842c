/**
 * Gemma 3, Phi-3 and SmolLM3 through GGUF and the export formats, against the goldens: a GGUF base in
 * llama.cpp's layout gives the fixture's base logits (≤ 1e-3, the fp32 tolerance of shared/README.md),
 * and PEFT, GGUF-LoRA and merged exports carry the fixture adapter unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAdapterWeights, writePeftFiles } from '../../../src-main/engine/adapters/compat.js';
import { exportMergedModel } from '../../../src-main/engine/adapters/merge.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { readGgufLora, writeGgufLora } from '../../../src-main/engine/io/gguf-lora.js';
import { readPeftAdapter } from '../../../src-main/engine/io/peft.js';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { FAMILIES, MORE, writeLlamaCppLikeGguf } from './fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-more-gguf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

function fixtureRows(arch: string): { rows: number[][]; ref: ReturnType<typeof openSafetensors> } {
  const ref = openSafetensors(path.join(MORE, arch, 'reference.safetensors'));
  const [B, T] = ref.info('input_ids').shape;
  const ids = ref.readInts('input_ids');
  return { rows: Array.from({ length: B }, (_, b) => Array.from(ids.slice(b * T, (b + 1) * T), Number)), ref };
}

describe.each(FAMILIES)('%s', (arch) => {
  it("a GGUF in llama.cpp's layout loads with the right spec and gives the fixture's base logits (≤ 1e-3)", async () => {
    const file = path.join(tmp, `${arch}.gguf`);
    await writeLlamaCppLikeGguf(arch, file);
    const fromHf = await loadModel(path.join(MORE, arch, 'model'));
    const model = await loadModel(file);
    const pick = (s: typeof model.spec) => ({ ropeTheta: s.ropeTheta, noRopeLayers: s.noRopeLayers, sliding: s.sliding, fusedProjections: s.fusedProjections, rotaryDim: s.rotaryDim, normOffset: s.normOffset, tiedEmbeddings: s.tiedEmbeddings, attnScale: s.attnScale });
    expect(pick(model.spec)).toEqual(pick(fromHf.spec));
    const { rows, ref } = fixtureRows(arch);
    const logits = await computeLogits(model, rows);
    expect(maxAbs(logits, ref.readF32('base_logits'))).toBeLessThanOrEqual(1e-3);
    model.source.close();
    fromHf.source.close();
  });

  it('PEFT export and GGUF LoRA export both give back every tensor of the fixture adapter', async () => {
    const adapterDir = path.join(MORE, arch, 'adapter');
    const w = readAdapterWeights(adapterDir);
    const peftDir = path.join(tmp, `${arch}-peft`);
    await writePeftFiles(peftDir, w);
    const again = readAdapterWeights(peftDir);
    expect(again.targets).toEqual(w.targets);
    for (const [n, t] of w.tensors) expect(Array.from(again.tensors.get(n)!), n).toEqual(Array.from(t));
    // PEFT's own module names: Phi-3's fused projections stay fused.
    expect(readPeftAdapter(peftDir).config.target_modules.sort()).toEqual(readPeftAdapter(adapterDir).config.target_modules.sort());

    const model = await loadModel(path.join(MORE, arch, 'model'));
    const peft = readPeftAdapter(adapterDir);
    const file = path.join(tmp, `${arch}-lora.gguf`);
    await writeGgufLora(file, peft, model.source.config);
    const g = openGguf(file);
    const names = g.names();
    g.close();
    // llama.cpp's names for this architecture's tensors
    if (arch === 'phi3') expect(names).toEqual(expect.arrayContaining(['blk.0.attn_qkv.weight.lora_a', 'blk.0.ffn_up.weight.lora_b', 'blk.3.ffn_down.weight.lora_a']));
    else expect(names).toEqual(expect.arrayContaining(['blk.0.attn_q.weight.lora_a', 'blk.0.ffn_gate.weight.lora_b', 'blk.3.attn_output.weight.lora_a']));
    const back = readGgufLora(file, model.source.config);
    for (const [n, t] of peft.tensors) expect(Array.from(back.tensors.get(n)!.data), n).toEqual(Array.from(t.data));
    model.source.close();
  });

  it("a merged export gives the fixture's merged logits (≤ 1e-3)", async () => {
    const model = await loadModel(path.join(MORE, arch, 'model'));
    const out = path.join(tmp, `${arch}-merged`);
    await exportMergedModel(model.source, readAdapterWeights(path.join(MORE, arch, 'adapter')), out);
    model.source.close();
    const merged = await loadModel(out);
    const { rows, ref } = fixtureRows(arch);
    expect(maxAbs(await computeLogits(merged, rows), ref.readF32('merged_logits'))).toBeLessThanOrEqual(1e-3);
    merged.source.close();
  });
});
