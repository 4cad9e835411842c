import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { transposeConcat } from '../../../src-main/engine/infer/fused/fused-weights.js';
import { openSafetensors, writeSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { readTransient, readWeight, releaseHostWeights } from '../../../src-main/engine/models/weights.js';

// Building a graph reads every weight once to encode or lay it out: into one reused buffer, so a
// multi-GB model is not paged into fresh memory tensor by tensor; the values must be readF32's exactly.
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-transient-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.71 + seed) * 3);

describe('reading weights into a reused buffer', () => {
  it('readF32Into gives readF32 values for F32, F16 and BF16 tensors, and null where it cannot', async () => {
    const file = path.join(dir, 'm.safetensors');
    await writeSafetensors(file, {
      a: { dtype: 'F32', shape: [7, 5], data: values(35, 1) },
      b: { dtype: 'F16', shape: [33], data: values(33, 2) },
      c: { dtype: 'BF16', shape: [3, 3], data: values(9, 3) },
      d: { dtype: 'I32', shape: [2], data: Int32Array.of(1, 2) },
    });
    const st = openSafetensors(file);
    const out = new Float32Array(40).fill(-1);
    for (const n of ['a', 'b', 'c']) {
      const got = st.readF32Into(n, out)!;
      expect(got.buffer).toBe(out.buffer);
      expect(Array.from(got)).toEqual(Array.from(st.readF32(n)));
    }
    expect(st.readF32Into('a', new Float32Array(34))).toBeNull(); // too small
    expect(st.readF32Into('d', out)).toBeNull(); // not a float tensor
    st.close();
  });

  it('readTransient reuses one buffer and reads what readF32 reads; transposeConcat reads lazily in order', async () => {
    const model = await loadModel(await writeRandomModel(path.join(dir, 'tiny'), TINY_LLAMA, { seed: 3 }));
    const src = model.source;
    const [q, k] = ['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.weight'];
    const qWant = src.readF32(q);
    const kWant = src.readF32(k);
    const a = readTransient(src, q);
    expect(Array.from(a)).toEqual(Array.from(qWant));
    const b = readTransient(src, k);
    expect(b.buffer).toBe(a.buffer); // the same buffer, overwritten
    expect(Array.from(b)).toEqual(Array.from(kWant));
    // a weight already read for graphs is returned as it is
    expect(readTransient(src, q)).not.toBe(readWeight(src, q));
    expect(readTransient(src, q)).toBe(readWeight(src, q));
    releaseHostWeights(src);
    // the fused layout from lazily read (reused-buffer) matrices equals the one from whole copies
    const D = src.shape(q)[1];
    const mats = [q, k].map((n) => ({ n, out: src.shape(n)[0] }));
    const eager = transposeConcat(mats.map((m) => ({ data: src.readF32(m.n), out: m.out })), D);
    const lazy = transposeConcat(mats.map((m) => ({ data: () => readTransient(src, m.n), out: m.out })), D);
    expect(lazy).toEqual(eager);
    // and it is the transpose: t[i, col + o] = W[o, i]
    const total = mats[0].out + mats[1].out;
    for (const [o, i] of [[0, 0], [5, 17], [mats[0].out - 1, D - 1]]) expect(eager[i * total + o]).toBe(qWant[o * D + i]);
    for (const [o, i] of [[0, 3], [mats[1].out - 1, D - 2]]) expect(eager[i * total + mats[0].out + o]).toBe(kWant[o * D + i]);
  });
});
