import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transposeConcat } from '../../../src-main/engine/infer/fused/fused-weights.js';
import { encodeF16 } from '../../../src-main/engine/io/half.js';
import { openSafetensors, writeSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import type { RawLocation } from '../../../src-main/engine/io/weight-threads.js';
import { dropPrefetched, f16BothOnThreads, f16OnThreads, f32OnThreads, prefetchOnThreads, stopWeightThreads, transposeHalfOnThreads, transposeOnThreads } from '../../../src-main/engine/io/weight-threads.js';

/** The reference: [rows, cols] → [cols, rows] element by element. */
function naiveTranspose<T extends Float32Array | Uint16Array>(src: T, rows: number, cols: number): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return out;
}

// The weight threads convert a big model's weights on several cores at its first start; what they make
// must be exactly what the calling thread makes (the same fp16 bits, the same transposed layout).
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-wthreads-'));
const before = process.env.GRAFT_WEIGHT_THREADS;
beforeAll(() => {
  process.env.GRAFT_WEIGHT_THREADS = '3';
});
afterAll(async () => {
  if (before === undefined) delete process.env.GRAFT_WEIGHT_THREADS;
  else process.env.GRAFT_WEIGHT_THREADS = before;
  await stopWeightThreads();
  rmSync(dir, { recursive: true, force: true });
});

// values of every range: normal, subnormal and out-of-range halves, ties
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 10 ** ((i % 13) - 8) + (i % 101 === 0 ? 1e6 : 0));

describe('weight threads', () => {
  it('encode F32 and BF16 tensors read from the file to the same fp16 bits, and transpose them as the calling thread does', async () => {
    const [R, C] = [37, 29]; // rows split unevenly over the threads
    const file = path.join(dir, 'model.safetensors');
    await writeSafetensors(file, {
      a: { dtype: 'F32', shape: [R, C], data: values(R * C, 1) },
      b: { dtype: 'BF16', shape: [R, C], data: values(R * C, 2) },
      c: { dtype: 'F32', shape: [5, C], data: values(5 * C, 3) },
    });
    const st = openSafetensors(file);
    const src = {
      readF32: (n: string) => st.readF32(n),
      rawLocation: (n: string): RawLocation => ({ file, offset: st.info(n).fileOffset, dtype: st.info(n).dtype as 'F32' | 'BF16' }),
      close: () => st.close(),
    };
    for (const n of ['a', 'b']) {
      const loc = src.rawLocation(n);
      expect(loc.dtype).toBe(n === 'a' ? 'F32' : 'BF16');
      const want = encodeF16(src.readF32(n));
      const got = f16OnThreads(loc, R, C)!;
      expect(got).not.toBeNull();
      expect(Buffer.from(got.buffer).equals(want)).toBe(true);
      // laid out [in, out] for the fp16 step's MatMul: the transpose of the calling thread's encoding
      const t = f16OnThreads(loc, R, C, true)!;
      expect(t).toEqual(naiveTranspose(new Uint16Array(want.buffer, want.byteOffset, R * C), R, C));
      // both forms from one read of the file (the fp16 step's forward and backward copies)
      const both = f16BothOnThreads(loc, R, C)!;
      expect(Buffer.from(both.asStored.buffer).equals(want)).toBe(true);
      expect(both.transposed).toEqual(t);
    }
    // the fused layout: [a; c]ᵀ with both matrices placed by the threads, against the calling thread's
    const eager = transposeConcat([{ data: src.readF32('a'), out: R }, { data: src.readF32('c'), out: 5 }], C);
    const threaded = transposeConcat(['a', 'c'].map((n) => ({ data: () => src.readF32(n), out: n === 'a' ? R : 5, loc: src.rawLocation(n) })), C);
    expect(threaded.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(threaded).toEqual(eager);
    // the fused layout in fp16 (the fp16 decode graph): the threads encode as they transpose, each matrix into its own
    // columns, bit for bit the calling thread's encoding of the fp32 layout (a BF16 tensor among them)
    const mats = (threads: boolean) => ['a', 'b', 'c'].map((n) => ({ data: () => src.readF32(n), out: n === 'c' ? 5 : R, loc: threads ? src.rawLocation(n) : null }));
    const half = transposeConcat(mats(true), C, true);
    expect(half.buffer).toBeInstanceOf(SharedArrayBuffer);
    const eager3 = transposeConcat(mats(false), C);
    const want16 = encodeF16(eager3);
    expect(Buffer.from(half.buffer).equals(want16)).toBe(true);
    expect(Buffer.from(transposeConcat(mats(false), C, true).buffer).equals(want16)).toBe(true);
    const shared16 = new Uint16Array(new SharedArrayBuffer(R * C * 2));
    expect(transposeHalfOnThreads(src.rawLocation('a'), shared16, R, 0, R, C)).toBe(true);
    expect(Buffer.from(shared16.buffer).equals(encodeF16(transposeConcat([{ data: src.readF32('a'), out: R }], C)))).toBe(true);
    const shared = new Float32Array(new SharedArrayBuffer(R * C * 4));
    expect(transposeOnThreads(src.rawLocation('a'), shared, R, 0, R, C)).toBe(true);
    expect(shared).toEqual(transposeConcat([{ data: src.readF32('a'), out: R }], C));
    // an output the threads cannot share is left to the caller
    expect(transposeOnThreads(src.rawLocation('a'), new Float32Array(R * C), R, 0, R, C)).toBe(false);
    src.close();
  });

  it('convert a tensor larger than their buffers piece by piece, the same as the calling thread', async () => {
    const [R, C] = [3000, 1024]; // 1,500 rows a thread at 2 threads: two pieces of at most 2^20 values each
    const file = path.join(dir, 'big.safetensors');
    await writeSafetensors(file, { w: { dtype: 'BF16', shape: [R, C], data: values(R * C, 7) } });
    const st = openSafetensors(file);
    const loc: RawLocation = { file, offset: st.info('w').fileOffset, dtype: 'BF16' };
    const want = st.readF32('w');
    process.env.GRAFT_WEIGHT_THREADS = '2';
    // byte comparisons: toEqual walks 3 million elements one by one, for a minute on a loaded 2-core machine
    const same = (a: Float32Array | Uint16Array | null, b: Float32Array | Uint16Array) =>
      a !== null && a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    try {
      expect(same(f32OnThreads(loc, R, C), want)).toBe(true);
      const f16 = encodeF16(want);
      expect(same(f16OnThreads(loc, R, C, true), naiveTranspose(new Uint16Array(f16.buffer, f16.byteOffset, R * C), R, C))).toBe(true);
      const t = new Float32Array(new SharedArrayBuffer(R * C * 4));
      expect(transposeOnThreads(loc, t, R, 0, R, C)).toBe(true);
      expect(same(t, naiveTranspose(want, R, C))).toBe(true);
    } finally {
      process.env.GRAFT_WEIGHT_THREADS = '3';
      st.close();
    }
  });

  it("a model folder's source says where its float tensors sit", async () => {
    const model = await loadModel(await writeRandomModel(path.join(dir, 'tiny'), TINY_LLAMA, { seed: 4 }));
    const name = 'model.layers.0.mlp.up_proj.weight';
    const loc = model.source.rawLocation!(name)!;
    expect(loc.file).toBe(path.join(dir, 'tiny', 'model.safetensors'));
    const [R, C] = model.source.shape(name);
    expect(Buffer.from(f16OnThreads(loc, R, C)!.buffer).equals(encodeF16(model.source.readF32(name)))).toBe(true);
  });

  it('convert prefetched tensors while the calling thread is busy, and the build takes exactly what it would have made', async () => {
    const [R, C] = [600, 512];
    const file = path.join(dir, 'ahead.safetensors');
    await writeSafetensors(file, {
      p: { dtype: 'BF16', shape: [R, C], data: values(R * C, 11) },
      t: { dtype: 'F32', shape: [R, C], data: values(R * C, 12) },
    });
    const st = openSafetensors(file);
    const loc = (n: string): RawLocation => ({ file, offset: st.info(n).fileOffset, dtype: st.info(n).dtype as 'F32' | 'BF16' });
    try {
      const wantP = encodeF16(st.readF32('p'));
      const wantT = st.readF32('t');
      expect(prefetchOnThreads('f16', loc('p'), R, C)).toBe(true);
      expect(prefetchOnThreads('f32', loc('t'), R, C)).toBe(true);
      // the calling thread blocked meanwhile (as by ORT creating a session): the threads need nothing from it
      const status = new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(status, 0, 0, 300);
      const p = f16OnThreads(loc('p'), R, C)!;
      expect(Buffer.from(p.buffer).equals(wantP)).toBe(true);
      expect(f32OnThreads(loc('t'), R, C)).toEqual(wantT);
      // taken once: a second ask converts again (the same bits), from a fresh buffer
      const again = f16OnThreads(loc('p'), R, C)!;
      expect(again.buffer).not.toBe(p.buffer);
      expect(Buffer.from(again.buffer).equals(wantP)).toBe(true);
      // the transposed form is never served from an as-stored prefetch
      expect(prefetchOnThreads('f16', loc('p'), R, C)).toBe(true);
      const tr = f16OnThreads(loc('p'), R, C, true)!;
      expect(tr).toEqual(naiveTranspose(new Uint16Array(wantP.buffer, wantP.byteOffset, R * C), R, C));
      // a prefetch nobody asked for is dropped, and asking later converts afresh
      dropPrefetched();
      expect(Buffer.from(f16OnThreads(loc('p'), R, C)!.buffer).equals(wantP)).toBe(true);
      // a prefetch of a file that cannot be read leaves the caller to read it
      const missing: RawLocation = { file: path.join(dir, 'missing.safetensors'), offset: 0, dtype: 'F32' };
      expect(prefetchOnThreads('f32', missing, 8, 8)).toBe(true);
      expect(f32OnThreads(missing, 8, 8)).toBeNull();
    } finally {
      st.close();
    }
  });

  it('a file that cannot be read makes them decline (the caller then reads it and reports why)', () => {
    expect(f16OnThreads({ file: path.join(dir, 'missing.safetensors'), offset: 0, dtype: 'F32' }, 8, 8)).toBeNull();
  });
});
