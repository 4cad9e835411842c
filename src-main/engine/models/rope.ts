/**
 * Rotary position tables as Hugging Face computes them (rotate-half layout: the frequency list is
 * repeated, [f0..f(d/2-1), f0..f(d/2-1)]), including llama3 frequency scaling. Frequencies are
 * rounded through float32 like PyTorch's, so tables match to the last bit or one ulp.
 */
import type { ModelSpec } from './spec.js';

export function inverseFrequencies(spec: ModelSpec): Float32Array {
  const half = spec.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(Math.pow(spec.ropeTheta, Math.fround((2 * i) / spec.headDim)));
  const s = spec.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] = inv[i] / s.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** cos and sin tables [positions, headDim]. */
export function ropeTables(spec: ModelSpec, positions: number): { cos: Float32Array; sin: Float32Array } {
  const d = spec.headDim;
  const half = d / 2;
  const inv = inverseFrequencies(spec);
  const cos = new Float32Array(positions * d);
  const sin = new Float32Array(positions * d);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(p * inv[i]);
      const c = Math.cos(f);
      const s = Math.sin(f);
      cos[p * d + i] = cos[p * d + i + half] = c;
      sin[p * d + i] = sin[p * d + i + half] = s;
    }
  }
  return { cos, sin };
}

/** R with x·R = rotate_half(x) = [-x2, x1]: rotation as one MatMul, whose gradient is a MatMul too. */
export function rotateHalfMatrix(d: number): Float32Array {
  const half = d / 2;
  const r = new Float32Array(d * d);
  for (let j = 0; j < half; j++) r[(j + half) * d + j] = -1;
  for (let j = half; j < d; j++) r[(j - half) * d + j] = 1;
  return r;
}
