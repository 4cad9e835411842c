/**
 * The fused graph's GPU-only forms (infer/fused/gpu-forms.ts): none on the CPU EP; on WebGPU split-K at 1,024
 * workgroups on every projection, the adapter rows' x·Aᵀ split alike, and the fused 4-bit MLP op by default, each switch (measurements) changing the session key too, so a
 * graph built one way is never reused for another.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gpuForms } from '../../../src-main/engine/infer/fused/gpu-forms.js';
import type { DeviceInfo } from '../../../src-main/engine/runtime/device.js';

const gpu = { kind: 'webgpu' } as DeviceInfo;
const cpu = { kind: 'cpu' } as DeviceInfo;
const KEYS = ['GRAFT_SPLITK', 'GRAFT_SPLITK_ALL', 'GRAFT_LORA_SPLITK', 'GRAFT_ARGMAX_PARTS', 'GRAFT_NBITS_FUSION'];
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of KEYS) if (saved[k] === undefined) delete process.env[k];
  else process.env[k] = saved[k];
});

describe('gpuForms', () => {
  it('gives the CPU EP neither form, whatever the environment says', () => {
    process.env.GRAFT_SPLITK = '4096';
    process.env.GRAFT_NBITS_FUSION = 'all';
    expect(gpuForms(cpu)).toMatchObject({ splitK: 0, splitKAll: false, loraSplitK: 0, nbitsFusion: false });
  });
  it('defaults on WebGPU: split-K at 1,024 workgroups on every projection, the rows too, the MLP op only', () => {
    for (const k of KEYS) delete process.env[k];
    expect(gpuForms(gpu)).toMatchObject({ splitK: 1024, splitKAll: true, loraSplitK: 1024, argmaxParts: true, nbitsFusion: 'mlp' });
  });
  it('each switch changes the forms and the key', () => {
    for (const k of KEYS) delete process.env[k];
    const keys = new Set([gpuForms(gpu).key]);
    const variants: [string, string, object][] = [
      ['GRAFT_SPLITK', '0', { splitK: 0 }],
      ['GRAFT_SPLITK_ALL', '0', { splitKAll: false }],
      ['GRAFT_LORA_SPLITK', '0', { loraSplitK: 0 }],
      ['GRAFT_ARGMAX_PARTS', '0', { argmaxParts: false }],
      ['GRAFT_NBITS_FUSION', '0', { nbitsFusion: false }],
      ['GRAFT_NBITS_FUSION', 'all', { nbitsFusion: true }],
    ];
    for (const [k, v, want] of variants) {
      process.env[k] = v;
      const f = gpuForms(gpu);
      expect(f).toMatchObject(want);
      keys.add(f.key);
      delete process.env[k];
    }
    expect(keys.size).toBe(variants.length + 1);
  });
});
