/**
 * Graft's ggml quantizers (merged GGUF export, issue 18 item 2): the bytes equal ggml's own reference quantizers
 * (built from the llama.cpp source when a C compiler and the source are here), and Graft's dequantizer reads
 * them back within each format's error bound.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dequantQ4_K, dequantQ6_K, dequantQ8_0 } from '../../../src-main/engine/io/gguf-dequant.js';
import { nearestInt, quantizeQ4_K, quantizeQ6_K, quantizeQ8_0 } from '../../../src-main/engine/io/gguf-quantize.js';
import { f16ToF32, f32ToF16 } from '../../../src-main/engine/io/half.js';

const LLAMACPP = path.resolve(__dirname, '../../../../shared/anchors/llamacpp/llamacpp-src.tar.xz');
const hasCc = spawnSync('cc', ['--version']).status === 0;

/** Gaussian rows of mixed scales, with an all-zero block, a constant block, an outlier and all-positive runs. */
function testData(n: number, seed: number): Float32Array {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
    x[i] = g * (i % 1024 < 512 ? 0.02 : 1.5) + (i % 4096 < 256 ? 0.3 : 0);
  }
  x.fill(0, 256, 512);
  x.fill(0.125, 512, 768);
  x[1000] = 40;
  for (let i = 1024; i < 1280; i++) x[i] = Math.abs(x[i]) + 1e-4;
  return x;
}

function ggmlReference(x: Float32Array): { q8_0: Uint8Array; q4_k: Uint8Array; q6_k: Uint8Array } {
  const dir = mkdtempSync(path.join(tmpdir(), 'graft-ggml-ref-'));
  execFileSync('tar', ['-xJf', LLAMACPP, '-C', dir, './ggml/include', './ggml/src/ggml-quants.c', './ggml/src/ggml-impl.h', './ggml/src/ggml-quants.h', './ggml/src/ggml-common.h', '--wildcards', './ggml/src/ggml-cpu/*.h']);
  const exe = path.join(dir, 'quant-ref');
  // -O1 without -march: no FMA contraction, one float32 rounding per operation (what Graft's quantizers model)
  execFileSync('cc', ['-O1', '-std=gnu11', '-I', path.join(dir, 'ggml/include'), '-I', path.join(dir, 'ggml/src'), path.join(__dirname, 'ggml-ref/quant-ref.c'), path.join(dir, 'ggml/src/ggml-quants.c'), '-o', exe, '-lm']);
  const out = execFileSync(exe, [String(x.length)], { input: Buffer.from(x.buffer, x.byteOffset, x.byteLength) });
  const a = (x.length / 32) * 34, b = a + (x.length / 256) * 144;
  return { q8_0: out.subarray(0, a), q4_k: out.subarray(a, b), q6_k: out.subarray(b) };
}

const firstDiff = (a: Uint8Array, b: Uint8Array) => a.findIndex((v, i) => v !== b[i]);
const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

describe('ggml quantizers', () => {
  it.skipIf(!hasCc || !existsSync(LLAMACPP))('write the bytes of ggml\'s reference quantizers (needs cc and ../shared/anchors/llamacpp)', () => {
    const x = testData(256 * 24, 7);
    const ref = ggmlReference(x);
    const mine = { q8_0: quantizeQ8_0(x), q4_k: quantizeQ4_K(x), q6_k: quantizeQ6_K(x) };
    for (const k of ['q8_0', 'q4_k', 'q6_k'] as const) {
      expect(mine[k].length, k).toBe(ref[k].length);
      expect(firstDiff(mine[k], ref[k]), `${k}: first differing byte`).toBe(-1);
    }
  }, 60_000);

  it('nearestInt rounds ties to even, like ggml', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(nearestInt)).toEqual([0, 2, 2, -0, -2, -2, 2, 3]);
  });

  it('Q8_0: exact for values on the grid; within d/2 (plus the f16 rounding of d) otherwise', () => {
    const codes = Array.from({ length: 32 }, (_, i) => (i === 5 ? -127 : ((i * 37) % 255) - 127));
    const x = Float32Array.from(codes, (q) => q * 0.25);
    const b = quantizeQ8_0(x);
    expect(f16ToF32(b[0] | (b[1] << 8))).toBe(0.25);
    expect(Array.from(b.subarray(2), (v) => (v << 24) >> 24)).toEqual(codes);
    const y = testData(4096, 3);
    const back = new Float32Array(y.length);
    dequantQ8_0(quantizeQ8_0(y), y.length, back);
    for (let blk = 0; blk < y.length / 32; blk++) {
      const part = y.subarray(blk * 32, blk * 32 + 32);
      const d = Math.fround(part.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
      const bound = d / 2 + 127 * Math.abs(f16ToF32(f32ToF16(d)) - d) + 1e-12;
      for (let j = 0; j < 32; j++) expect(Math.abs(back[blk * 32 + j] - part[j])).toBeLessThanOrEqual(bound);
    }
    // a quantized row quantizes to itself
    expect(firstDiff(quantizeQ8_0(back), quantizeQ8_0(y))).toBe(-1);
  });

  it('Q4_K and Q6_K read back within their error bounds (Graft\'s dequantizer)', () => {
    const x = testData(256 * 16, 11);
    for (const [name, q, dq, relRms, relMax] of [
      // Gaussian blocks measure ≈ 0.074 (Q4_K) and ≈ 0.018 (Q6_K) rms error per rms value, max error ≤ 0.07 / 0.02 of the block's max
      ['Q4_K', quantizeQ4_K, dequantQ4_K, 0.1, 0.08],
      ['Q6_K', quantizeQ6_K, dequantQ6_K, 0.025, 0.025],
    ] as const) {
      const back = new Float32Array(x.length);
      dq(q(x), x.length, back);
      for (let blk = 0; blk < x.length / 256; blk++) {
        const part = x.subarray(blk * 256, blk * 256 + 256), got = back.subarray(blk * 256, blk * 256 + 256);
        const err = part.map((v, i) => v - got[i]);
        const amax = part.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        if (amax === 0) {
          expect(rms(got), `${name} zero block`).toBe(0);
          continue;
        }
        // the block with the outlier (x[1000]) is held to the max bound only: its small values share the outlier's scale
        if (blk !== 3) expect(rms(err) / rms(part), `${name} block ${blk} rms`).toBeLessThan(relRms);
        expect(Math.max(...err.map(Math.abs)) / amax, `${name} block ${blk} max`).toBeLessThan(relMax);
      }
    }
  });
});
