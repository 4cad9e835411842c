import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src-main/engine/runtime/device.js';
import { TOLERANCES, verifyReference } from '../../src-main/engine/verify/reference.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../shared/fixtures/hf-reference');
const MORE = path.resolve(import.meta.dirname, '../../../shared/fixtures/hf-reference-more');
const gpuError = await probeWebGpu();
const gpuRequired = process.env.GRAFT_E2E_REQUIRED === '1';

// Tolerances are shared/README.md's for fp32: logits 1e-3, loss 1e-4, gradient rel 1e-3, greedy ids equal.
// Gemma 3 (sliding window 8 over 16 tokens, per-layer-type RoPE), Phi-3 (fused qkv/gate_up) and SmolLM3 (NoPE layers) beside the first three.
const CASES = [...['llama', 'qwen2', 'qwen3'].map((a) => [a, path.join(FIXTURES, a)]), ...['smollm3', 'phi3', 'gemma3'].map((a) => [a, path.join(MORE, a)])];

describe.each(CASES)('%s against PyTorch + PEFT', (_arch, dir) => {
  it('on the CPU EP', async () => {
    const r = await verifyReference(dir, 'cpu');
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
    const r = await verifyReference(dir, 'gpu');
    expect(r.device).toMatch(/^webgpu/);
    expect(r.ok).toBe(true);
  }, 120_000);
});
