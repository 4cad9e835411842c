import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src-main/engine/runtime/device.js';
import { TOLERANCES, verifyReference } from '../../src-main/engine/verify/reference.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../shared/fixtures/hf-reference');
const gpuError = await probeWebGpu();
const gpuRequired = process.env.GRAFT_E2E_REQUIRED === '1';

// Tolerances are shared/README.md's for fp32: logits 1e-3, loss 1e-4, gradient rel 1e-3, greedy ids equal.
describe.each(['llama', 'qwen2', 'qwen3'])('%s against PyTorch + PEFT', (arch) => {
  it('on the CPU EP', async () => {
    const r = await verifyReference(path.join(FIXTURES, arch), 'cpu');
    expect(r.base_logits_max_abs).toBeLessThanOrEqual(TOLERANCES.logits);
    expect(r.lora_logits_max_abs).toBeLessThanOrEqual(TOLERANCES.logits);
    expect(r.merged_logits_max_abs).toBeLessThanOrEqual(TOLERANCES.logits);
    expect(r.loss_abs).toBeLessThanOrEqual(TOLERANCES.loss);
    expect(r.grad_max_rel).toBeLessThanOrEqual(TOLERANCES.gradRel);
    expect(r.base_greedy_equal).toBe(true);
    expect(r.lora_greedy_equal).toBe(true);
    expect(r.ok).toBe(true);
  });

  // WebGPU on lavapipe (installed by .ci/run) with CPU fallback disabled: a CPU-only op is an error.
  it.runIf(gpuError === null || gpuRequired)(`on the WebGPU EP${gpuError ? ` (no adapter here: ${gpuError.slice(0, 80)}; .ci/run installs lavapipe)` : ''}`, async () => {
    const r = await verifyReference(path.join(FIXTURES, arch), 'gpu');
    expect(r.device).toMatch(/^webgpu/);
    expect(r.ok).toBe(true);
  }, 120_000);
});
