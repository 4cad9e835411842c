import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src-main/engine/model.js';
import { probeWebGpu, resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { greedyTrace, maxAbsDiff, readAdapterWeights } from './fused-helpers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../shared/fixtures/hf-reference');
const gpuError = await probeWebGpu();
const gpuRequired = process.env.GRAFT_E2E_REQUIRED === '1';
const devices: [string, DevicePref, boolean][] = [
  ['CPU EP', 'cpu', true],
  // WebGPU with CPU fallback disabled: an op without a WebGPU kernel fails the session.
  [gpuError === null ? 'WebGPU EP' : `WebGPU EP (skipped, no adapter: ${gpuError.slice(0, 80)}; .ci/run installs lavapipe)`, 'gpu', gpuError === null || gpuRequired],
];

describe.each(['llama', 'qwen2', 'qwen3'])('fused decode graph, %s fixture', (arch) => {
  // A device that is not here is reported as skipped (its reason in the name), never as a pass.
  for (const [name, pref, enabled] of devices)
    it.skipIf(!enabled)(`${name}: logits match the plain graph (≤ 1e-4) and greedy ids match PyTorch, base and LoRA rows side by side`, async () => {
    const dir = path.join(FIXTURES, arch);
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    const model = await loadModel(path.join(dir, 'model'));
    const adapter = readAdapterWeights(path.join(dir, 'adapter'));
    const device = await resolveDevice(pref);
    const prompt: number[] = expected.prompt_for_greedy;
    const steps = expected.base_greedy.length - prompt.length;
    const rows = [[], [{ weights: adapter, scale: 1 }]];
    const fused = await greedyTrace(model, device, [prompt, prompt], rows, steps, true);
    expect(fused.mode).toBe('fused');
    expect(fused.ids[0]).toEqual(expected.base_greedy);
    expect(fused.ids[1]).toEqual(expected.lora_greedy);
    const plain = await greedyTrace(model, device, [prompt, prompt], rows, steps, false, fused);
    expect(plain.mode).toBe('plain');
    const V = model.spec.vocab;
    fused.logits.forEach((l, s) => {
      expect(maxAbsDiff(l, plain.logits[s]), `step ${s}`).toBeLessThanOrEqual(1e-4);
      // the adapter visibly moves the LoRA row, so the match above covers the fused LoRA path
      expect(maxAbsDiff(l.subarray(0, V), l.subarray(V)), `step ${s}`).toBeGreaterThan(1e-3);
    });
    console.log(arch, device.ep, 'max |Δ| fused vs plain', Math.max(...fused.logits.map((l, s) => maxAbsDiff(l, plain.logits[s]))), 'base vs lora', maxAbsDiff(fused.logits[3].subarray(0, V), fused.logits[3].subarray(V)));
  }, 180_000);
});
