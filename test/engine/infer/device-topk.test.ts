import { describe, expect, it } from 'vitest';
import { topLogits } from '../../../src-main/engine/infer/device-topk.js';
import { Sampler } from '../../../src-main/engine/infer/sampling.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { DeviceTensor } from '../../../src-main/engine/runtime/tensors.js';
import { toDeviceAll } from '../../../src-main/engine/runtime/transfer.js';
import { SeededRng } from '../../../src-main/engine/data/rng.js';
import { EPS_UNDER_TEST } from '../webgpu-under-test.js';


/** Logits with many ties: values on a coarse grid, so equal values fall in different chunks. */
function row(V: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  return Float32Array.from({ length: V }, () => Math.round(rng.next() * 400) / 20 - 10);
}

/** The host's order: value descending, ties to the lower id (what Sampler's top-k takes). */
function best(x: Float32Array, k: number): number[] {
  return Array.from(x.keys())
    .sort((a, b) => x[b] - x[a] || a - b)
    .slice(0, k);
}

// Where no WebGPU adapter is found the GPU half is reported as skipped, with the reason in its name.
describe.each(EPS_UNDER_TEST)('device top-k on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled).each([
    [96, 64], // one chunk, k under the row
    [5000, 128], // three chunks, then one
    [151936, 128], // Qwen2.5's vocabulary: 75 chunks, 5, then one
  ])('rows of %i logits: the %i best with their ids, in the host order, ties included', async (V, K) => {
    const device = await resolveDevice(pref);
    const B = 2;
    const data = new Float32Array(B * V);
    for (let b = 0; b < B; b++) data.set(row(V, 7 + b), b * V);
    const [t] = await toDeviceAll([{ dtype: 'float32', shape: [B, V], data }], device);
    // on the GPU a device buffer, as a captured step leaves its logits; on the CPU the host tensor
    expect(t instanceof DeviceTensor).toBe(pref === 'gpu');
    const top = await topLogits(t, K, device);
    expect(top.k).toBe(Math.min(K, V));
    for (let b = 0; b < B; b++) {
      const r = data.subarray(b * V, (b + 1) * V);
      const want = best(r, top.k);
      expect(Array.from(top.ids.subarray(b * top.k, (b + 1) * top.k))).toEqual(want);
      expect(Array.from(top.logits.subarray(b * top.k, (b + 1) * top.k))).toEqual(want.map((i) => r[i]));
    }
  }, 60_000);
});

describe('Sampler.sampleAmong', () => {
  it("draws what sample() draws over the whole row, or asks for the row (the generator untouched), under the Chat's penalties", () => {
    const V = 3000;
    const K = 128;
    const opts = { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.3, seed: 11 };
    const whole = new Sampler(opts);
    const among = new Sampler(opts);
    const seen = new Set<number>();
    let decided = 0;
    for (let step = 0; step < 300; step++) {
      const r = row(V, 100 + step);
      // a growing text that keeps choosing among the best, so the penalties hit candidates
      const want = whole.sample(r, seen);
      const ids = Int32Array.from(best(r, K));
      const got = among.sampleAmong(ids, Float32Array.from(ids, (i) => r[i]), seen);
      if (got !== null) decided++;
      expect(got ?? among.sample(r, seen)).toBe(want);
      seen.add(want);
      seen.add(best(r, 1)[0]);
    }
    // most draws are decided by the candidates; some are not (and fell back exactly)
    expect(decided).toBeGreaterThan(200);
    expect(decided).toBeLessThanOrEqual(300);
    expect(Sampler.decidedByBest(opts)).toBe(true);
    expect(Sampler.decidedByBest({ ...opts, repetitionPenalty: 0.9 })).toBe(false);
    expect(Sampler.decidedByBest({ temperature: 0.7 })).toBe(false);
  });

  it('asks for the row when a penalty pushes the k-th best below the last candidate', () => {
    const s = new Sampler({ temperature: 1, topK: 2, repetitionPenalty: 10, seed: 1 });
    const ids = Int32Array.of(5, 9, 3, 4);
    const vals = Float32Array.of(3, 2.9, 2.8, 2.7);
    // 5 and 9 penalized to 0.3 and 0.29: the second best is then 2.7, where tokens outside the four may sit too
    expect(s.sampleAmong(ids, vals, new Set([5, 9]))).toBeNull();
    // 5 alone: 9 and 3 are the two best, both above 2.7
    expect([9, 3]).toContain(s.sampleAmong(ids, vals, new Set([5])));
  });
});
