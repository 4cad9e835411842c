/**
 * Issue 17, acceptance 2: GGUFs written by llama.cpp's own converter from the fixtures (see
 * llamacpp-gguf/README.md) load in Graft and give the fixture's base logits (≤ 1e-3, shared/README.md's
 * fp32 tolerance). gemma3.gguf lacks the per-layer sliding pattern, so Graft reads it as llama.cpp
 * runs it (every 6th layer full: here all four sliding) and it cannot equal the alternating fixture;
 * gemma3-pattern.gguf carries the pattern and must.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { MORE } from './fixtures.js';

const DIR = path.join(import.meta.dirname, 'llamacpp-gguf');
const CASES: [string, string][] = [['smollm3', 'smollm3.gguf'], ['phi3', 'phi3.gguf'], ['gemma3', 'gemma3-pattern.gguf']];

describe.each(CASES)('%s from llama.cpp convert_hf_to_gguf.py', (arch, file) => {
  const gguf = path.join(DIR, file);
  it.skipIf(!existsSync(gguf))(`${file} gives the fixture's base logits (≤ 1e-3)${existsSync(gguf) ? '' : ' (skipped: the file is made on the GPU machine by bench/gpu-checks/more-families-gguf.sh)'}`, async () => {
    const model = await loadModel(gguf);
    const ref = openSafetensors(path.join(MORE, arch, 'reference.safetensors'));
    const [B, T] = ref.info('input_ids').shape;
    const ids = ref.readInts('input_ids');
    const rows = Array.from({ length: B }, (_, b) => Array.from(ids.slice(b * T, (b + 1) * T), Number));
    const logits = await computeLogits(model, rows);
    const want = ref.readF32('base_logits');
    expect(logits.reduce((m, x, i) => Math.max(m, Math.abs(x - want[i])), 0)).toBeLessThanOrEqual(1e-3);
    model.source.close();
  });
});

describe('gemma3.gguf as the converter writes it', () => {
  const gguf = path.join(DIR, 'gemma3.gguf');
  it.skipIf(!existsSync(gguf))('is read with llama.cpp’s default pattern: every 6th layer full', async () => {
    const model = await loadModel(gguf);
    expect(model.spec.sliding?.layers).toEqual([0, 1, 2, 3]);
    model.source.close();
  });
});
