/**
 * Rotary position tables as Hugging Face computes them (rotate-half layout: the frequency list is
 * repeated, [f0..f(r/2-1), f0..f(r/2-1)] over the r = rotaryDim leading dims of a head), including
 * llama3 and linear frequency scaling. Frequencies are rounded through float32 like PyTorch's, so
 * tables match to the last bit or one ulp. Partial rotary (Phi-3) pads the tables to the whole head
 * with cos 1 and sin 0, and the rotation matrix leaves those dims alone: one graph serves both.
 */
import type { ModelSpec, RopeSpec } from './spec.js';

/** The model's main RoPE (full-attention layers). */
export const mainRope = (spec: ModelSpec): RopeSpec => ({ theta: spec.ropeTheta, scaling: spec.ropeScaling });

/** Inverse frequencies of the rotary dims; `positions` picks longrope's short or long factors. */
export function inverseFrequencies(spec: ModelSpec, rope: RopeSpec = mainRope(spec), positions = 0): Float32Array {
  const dim = spec.rotaryDim;
  const half = dim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(Math.pow(rope.theta, Math.fround((2 * i) / dim)));
  const s = rope.scaling;
  if (!s) return inv;
  if (s.type === 'linear') return inv.map((f) => f / s.factor);
  if (s.type === 'longrope') {
    const ext = positions > s.originalMaxPositions ? s.longFactor : s.shortFactor;
    return inv.map((_, i) => 1 / Math.fround(Math.fround(ext[i]) * Math.fround(Math.pow(rope.theta, Math.fround((2 * i) / dim)))));
  }
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
export function ropeTables(spec: ModelSpec, positions: number, rope: RopeSpec = mainRope(spec)): { cos: Float32Array; sin: Float32Array } {
  const d = spec.headDim;
  const half = spec.rotaryDim / 2;
  const inv = inverseFrequencies(spec, rope, positions);
  const att = rope.scaling?.type === 'longrope' ? rope.scaling.attentionFactor : 1;
  const cos = new Float32Array(positions * d).fill(1);
  const sin = new Float32Array(positions * d);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(p * inv[i]);
      const c = Math.fround(Math.cos(f)) * att;
      const s = Math.fround(Math.sin(f)) * att;
      cos[p * d + i] = cos[p * d + i + half] = c;
      sin[p * d + i] = sin[p * d + i + half] = s;
    }
  }
  return { cos, sin };
}

/** R with x·R = rotate_half(x) = [-x2, x1] over the first `rot` dims (0 elsewhere): rotation as one MatMul, whose gradient is a MatMul too. */
export function rotateHalfMatrix(d: number, rot = d): Float32Array {
  const half = rot / 2;
  const r = new Float32Array(d * d);
  for (let j = 0; j < half; j++) r[(j + half) * d + j] = -1;
  for (let j = half; j < rot; j++) r[(j - half) * d + j] = 1;
  return r;
}
