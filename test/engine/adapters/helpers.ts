import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';

export const FIX = path.resolve(__dirname, '../../../../shared/fixtures/hf-reference');

export function tmp(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `graft-${prefix}-`));
}

/** input_ids as rows and the named logits of an architecture's reference file. */
export function reference(arch: string, logits: 'base_logits' | 'lora_logits' | 'merged_logits'): { ids: number[][]; logits: Float32Array } {
  const st = openSafetensors(path.join(FIX, arch, 'reference.safetensors'));
  try {
    const [B, T] = st.info('input_ids').shape;
    const flat = st.readInts('input_ids');
    const ids = Array.from({ length: B }, (_, b) => flat.slice(b * T, (b + 1) * T));
    return { ids, logits: st.readF32(logits) };
  } finally {
    st.close();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
