import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src-main/engine/runtime/device.js';
import { verifyMethodReference } from '../../src-main/engine/verify/method-reference.js';
import { TOLERANCES } from '../../src-main/engine/verify/reference.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../shared/fixtures/peft-methods');
const gpuError = await probeWebGpu();
const gpuRequired = process.env.GRAFT_E2E_REQUIRED === '1';

// Tolerances as for LoRA (shared/README.md's fp32 ones): logits 1e-3, loss 1e-4, gradient rel 1e-3, greedy ids equal.
describe.each(['dora-llama', 'dora-qwen2', 'ia3-llama', 'ia3-qwen2', 'prefix-llama', 'prefix-qwen2'])('%s against PyTorch + PEFT 0.21', (name) => {
  it('on the CPU EP', async () => {
    const r = await verifyMethodReference(path.join(FIXTURES, name), 'cpu');
    expect(r.method).toBe(name.split('-')[0]);
    expect(r.adapter_logits_max_abs).toBeLessThanOrEqual(TOLERANCES.logits);
    if (r.method === 'prefix') expect(r.merged_logits_max_abs).toBeNull();
    else expect(r.merged_logits_max_abs).toBeLessThanOrEqual(TOLERANCES.logits);
    expect(r.loss_abs).toBeLessThanOrEqual(TOLERANCES.loss);
    expect(r.grad_max_rel).toBeLessThanOrEqual(TOLERANCES.gradRel);
    expect(r.adapter_greedy_equal).toBe(true);
    expect(r.ok).toBe(true);
  }, 60_000);

  // WebGPU on lavapipe (installed by .ci/run) with CPU fallback disabled: a CPU-only op is an error.
  it.runIf(gpuError === null || gpuRequired)(`on the WebGPU EP${gpuError ? ` (no adapter here: ${gpuError.slice(0, 80)}; .ci/run installs lavapipe)` : ''}`, async () => {
    const r = await verifyMethodReference(path.join(FIXTURES, name), 'gpu');
    expect(r.device).toMatch(/^webgpu/);
    expect(r.ok).toBe(true);
  }, 120_000);
});
