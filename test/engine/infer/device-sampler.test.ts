/**
 * The device sampler's graphs (infer/device-sampler.ts) against the host's Sampler: given the uniform the host's
 * sampler would draw with, the same token, over rows with ties, each row with its own settings. 'topk': top-k
 * alone, the Chat's settings (penalties on tokens marked present, top-p, min-p), greedy with a penalty. 'plain':
 * temperature sampling over the whole row, with and without penalties, on a vocabulary of one part and of three
 * (the last padded). seen_out marks the drawn token. On the CPU EP and on the WebGPU EP (lavapipe in CI).
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../../src-main/engine/data/rng.js';
import { buildSamplerGraph, PARAMS, SAMPLED_IDS, samplerMode, type SamplerMode, samplerParams, SEEN_OUT } from '../../../src-main/engine/infer/device-sampler.js';
import { Sampler, type SamplingOpts } from '../../../src-main/engine/infer/sampling.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { EPS_UNDER_TEST } from '../webgpu-under-test.js';

const CHAT: SamplingOpts = { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1 };
const SETTINGS: Record<SamplerMode, SamplingOpts[]> = {
  topk: [CHAT, { temperature: 1, topK: 5 }, { temperature: 1.3, topK: 128, topP: 0.5, presencePenalty: 0.4 }, { temperature: 0, repetitionPenalty: 1.5 }],
  plain: [{ temperature: 0.8 }, { temperature: 1.2, repetitionPenalty: 1.3 }, { temperature: 0.3, presencePenalty: 0.5 }, { temperature: 2 }],
};

/** Logits on a coarse grid (ties), some rows peaked, some flat. */
function logitsRow(V: number, rng: SeededRng, spread: number): Float32Array {
  return Float32Array.from({ length: V }, () => Math.round((rng.next() - 0.5) * spread * 20) / 20);
}

describe('samplerMode', () => {
  it('takes top-k sampling of at most 128, plain temperature sampling and greedy with penalties; the host the rest', () => {
    expect(samplerMode(CHAT, 49152)).toBe('topk');
    expect(samplerMode({ temperature: 0.7 }, 49152)).toBe('plain');
    expect(samplerMode({ temperature: 0, repetitionPenalty: 1.2 }, 49152)).toBe('topk'); // the best of one
    expect(samplerMode({ temperature: 0 }, 49152)).toBeNull(); // the decode graph's argmax
    expect(samplerMode({ temperature: 0.7, topP: 0.9 }, 49152)).toBeNull(); // top-p over the whole row in order
    expect(samplerMode({ temperature: 0.7, minP: 0.1 }, 49152)).toBeNull();
    expect(samplerMode({ temperature: 1, topK: 129 }, 49152)).toBeNull();
    expect(samplerMode({ temperature: 1, topK: 40 }, 32)).toBeNull();
    expect(samplerParams({ temperature: 0.5, topK: 3 })).toEqual([0.5, 3, 2, 0, 1, 0]);
    expect(samplerParams({ temperature: 0, repetitionPenalty: 1.2 })).toEqual([1, 1, 2, 0, 1.2, 0]);
  });
});

describe.each(EPS_UNDER_TEST)('the device sampler on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled).each([
    ['topk', 3000],
    ['plain', 3000],
    ['plain', 700],
  ] as [SamplerMode, number][])('%s, %i words: draws what the host sampler draws with the same uniform, and marks the drawn token', async (mode, V) => {
    const device = await resolveDevice(pref);
    const B = 4;
    const settings = SETTINGS[mode];
    settings.forEach((o) => expect(samplerMode(o, V)).toBe(mode));
    const s = await GraphSession.create(buildSamplerGraph(B, V, mode), { device });
    const rng = new SeededRng(5);
    const host = settings.map((o, b) => new Sampler({ ...o, seed: 40 + b }));
    const twin = settings.map((o, b) => new Sampler({ ...o, seed: 40 + b }));
    const seen = settings.map(() => new Set<number>());
    let differ = 0;
    try {
      for (let step = 0; step < 40; step++) {
        const logits = new Float32Array(B * V);
        const mask = new Float32Array(B * V);
        const uniform = new Float32Array(B);
        const params = new Float32Array(B * PARAMS);
        const want: number[] = [];
        for (let b = 0; b < B; b++) {
          const r = logitsRow(V, rng, b % 2 ? 4 : 40);
          logits.set(r, b * V);
          for (const t of seen[b]) mask[b * V + t] = 1;
          want.push(host[b].sample(r, seen[b]));
          uniform[b] = twin[b].uniform();
          params.set(samplerParams(settings[b]), b * PARAMS);
        }
        const t = (shape: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', shape, data });
        const out = await s.run({ logits: t([B, V], logits), seen: t([B, V], mask), uniform: t([B, 1], uniform), params: t([B, PARAMS], params) });
        const got = Array.from((out[SAMPLED_IDS] as HostTensor).data as Int32Array);
        const marked = (out[SEEN_OUT] as HostTensor).data as Float32Array;
        for (let b = 0; b < B; b++) {
          if (got[b] !== want[b]) differ++;
          expect(got[b]).toBeGreaterThanOrEqual(0);
          expect(marked[b * V + got[b]]).toBe(1);
          // every other mark as it was
          expect(marked.subarray(b * V, (b + 1) * V).reduce((a, x) => a + x, 0)).toBe(new Set([...seen[b], got[b]]).size);
          seen[b].add(want[b]);
          // a growing text that keeps choosing among the best, so the penalties hit candidates
          if (step % 3 === 0) seen[b].add(Array.from(r0(logits, b, V)).indexOf(Math.max(...r0(logits, b, V))));
        }
      }
    } finally {
      await s.release();
    }
    // float32 against the host's float64: a draw may differ only where its uniform falls within rounding of a boundary
    expect(differ).toBe(0);
  }, 120_000);
});

const r0 = (x: Float32Array, b: number, V: number) => x.subarray(b * V, (b + 1) * V);

describe.each(EPS_UNDER_TEST)('the device sampler on the %s, rows that are not finite', (_name, pref, enabled) => {
  // an fp16 decode that overflowed gives NaN or ±inf logits: such a row draws V, past the vocabulary (generate.ts
  // refuses it), its marks unchanged; finite rows draw as the test above checks
  it.skipIf(!enabled).each(['topk', 'plain'] as SamplerMode[])('%s: a row with a NaN, of NaN, with +inf or with -inf draws V', async (mode) => {
    const device = await resolveDevice(pref);
    const B = 4;
    const V = 700;
    const o: SamplingOpts = mode === 'topk' ? CHAT : { temperature: 0.8 };
    const s = await GraphSession.create(buildSamplerGraph(B, V, mode), { device });
    try {
      const logits = logitsRow(B * V, new SeededRng(3), 40);
      logits[0 * V + 5] = Number.NaN;
      logits.fill(Number.NaN, 1 * V, 2 * V);
      logits[2 * V + 9] = Number.POSITIVE_INFINITY;
      logits[3 * V + 9] = Number.NEGATIVE_INFINITY;
      const params = new Float32Array(B * PARAMS);
      for (let b = 0; b < B; b++) params.set(samplerParams(o), b * PARAMS);
      const t = (shape: number[], data: Float32Array): HostTensor => ({ dtype: 'float32', shape, data });
      const out = await s.run({ logits: t([B, V], logits), seen: t([B, V], new Float32Array(B * V)), uniform: t([B, 1], Float32Array.of(0.3, 0.3, 0.3, 0.3)), params: t([B, PARAMS], params) });
      const got = Array.from((out[SAMPLED_IDS] as HostTensor).data as Int32Array);
      // fp16's overflow shows as inf of either sign, then NaN: every such row draws V
      expect(got).toEqual([V, V, V, V]);
      const marks = (out[SEEN_OUT] as HostTensor).data as Float32Array;
      expect(marks.every((m) => m === 0)).toBe(true);
    } finally {
      await s.release();
    }
  }, 60_000);
});
