/**
 * One call on the GPU machine: WebGPU correctness against the PyTorch goldens (CPU fallback
 * disabled), then decode and training-step speed. Bundled to .gpu/graft-gpu.cjs by bench/gpu-bundle.sh.
 */
import path from 'node:path';
import { verifyReference } from '../src-main/engine/verify/reference.js';
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import { benchModel, commit, SHARED, STORIES, writeResult } from './common.js';
import { decodeBench } from './decode.js';
import { stepBench } from './step-speed.js';
import { decodeProfile } from './decode-profile.js';
import { syncProbe } from './decode-sync-probe.js';
import { gptqBench } from './gptq-time.js';

async function main() {
  const what = process.argv.slice(2);
  const day = new Date().toISOString().slice(0, 10);
  if (what.includes('verify')) {
    const reports: Record<string, unknown> = {};
    for (const arch of ['llama', 'qwen2', 'qwen3']) {
      reports[arch] = await verifyReference(path.join(SHARED, 'fixtures/hf-reference', arch), 'gpu');
      console.log(arch, JSON.stringify(reports[arch]));
    }
    writeResult(`verify-webgpu-${day}`, { what: 'graft verify-reference on the WebGPU EP (CPU fallback disabled) against the PyTorch + PEFT goldens', date: new Date().toISOString(), commit: commit(), reports });
  }
  if (what.includes('decode')) {
    const r = await decodeBench('gpu', 64, [['stories260K', STORIES], ['smollm2-135m-shape (random init)', await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES)]]);
    writeResult(`decode-webgpu-${day}`, r);
  }
  if (what.includes('profile')) {
    await decodeProfile('gpu', STORIES, 64);
    await decodeProfile('gpu', await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES), 64);
  }
  if (what.includes('sync')) {
    await syncProbe('gpu', STORIES);
    await syncProbe('gpu', await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES));
  }
  if (what.includes('gptq')) writeResult(`gptq-time-webgpu-${day}`, await gptqBench('gpu'));
  if (what.includes('step8')) await stepBench('gpu', [[8, 512]], 2);
  if (what.includes('step') && !what.includes('step8')) {
    const fp32 = await stepBench('gpu', [[1, 512], [8, 512]]);
    const fp16 = await stepBench('gpu', [[1, 512], [8, 512]], 5, 'fp16');
    writeResult(`step-webgpu-${day}`, { ...fp32, results: [...fp32.results, ...fp16.results] });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
