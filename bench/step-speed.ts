/**
 * Training-step throughput of LoRA (r=16, all 7 linear targets, AdamW, fused step graph) on a random
 * model with SmolLM2-135M's shapes, beside PyTorch+PEFT's figures on the same shapes.
 *   npx tsx bench/step-speed.ts [--device cpu|gpu] [--configs 1x256,8x512]
 */
import { webgpuContextState } from '../src-main/engine/runtime/webgpu-context.js';
import { replayHostTime } from '../src-main/engine/runtime/captured-graph.js';
import { LORA_TARGETS } from '../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../src-main/engine/model.js';
import { halfWeights } from '../src-main/engine/models/half-weights.js';
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { stepCaptureStats } from '../src-main/engine/train/step-capture.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';
import { createTimings } from '../src-main/engine/runtime/session.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import type { WeightsFactory } from '../src-main/engine/models/weights.js';
import { arg, benchModel, commit, machine, writeResult } from './common.js';

export async function stepBench(
  pref: DevicePref,
  configs: [number, number][],
  steps = 5,
  precision: 'fp32' | 'fp16' = 'fp32',
  shape: [string, HfConfig] = ['smollm2-135m', SMOLLM2_135M_SHAPES],
  weights?: WeightsFactory,
  label: string = precision,
) {
  const device = await resolveDevice(pref);
  const t0Load = performance.now();
  const model = await loadModel(await benchModel(...shape));
  const loadMs = performance.now() - t0Load;
  const results: object[] = [];
  for (const [batch, seq] of configs) {
    const runner = await createStepRunner({ source: model.source, spec: model.spec, lora: { r: 16, alpha: 32, dropout: 0, rslora: false, targets: [...LORA_TARGETS] }, device: pref, batch, seqLen: seq, seed: 1, weights: weights ?? (precision === 'fp16' ? halfWeights : undefined) });
    const ids = Int32Array.from({ length: batch * seq }, (_, i) => 1 + ((i * 7919) % 49000));
    const b = { inputIds: ids, labels: ids, batch, seqLen: seq };
    const hp = (step: number) => ({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step, maxGradNorm: 1 });
    const t0 = performance.now();
    await runner.step(b, hp(1)); // includes session creation
    const first = performance.now() - t0;
    const created = createTimings.splice(0);
    // at once: a run cut off later (its timeout) still tells how long the first step took
    if (process.env.STEP_PRINT_FIRST === '1') console.log(JSON.stringify({ model: shape[0], precision: label, batch, seq, first_step_only: true, load_ms: +loadMs.toFixed(0), first_step_ms: +first.toFixed(0), sessions_created: created }));
    const times: number[] = [];
    const replayedBefore = stepCaptureStats.steps;
    Object.assign(replayHostTime, { runs: 0, ms: 0 }); // host ms inside the captured runs (captured-graph.ts)
    for (let s = 2; s < 2 + steps; s++) {
      const t = performance.now();
      await runner.step(b, hp(s));
      times.push(performance.now() - t);
    }
    await runner.dispose();
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)];
    const r = { submit_window: webgpuContextState()?.pending ?? null, model: shape[0], precision: label, batch, seq, load_ms: +loadMs.toFixed(0), first_step_ms: +first.toFixed(0), sessions_created: created, step_ms_median: +median.toFixed(1), train_tokens_per_s: +((batch * seq) / (median / 1000)).toFixed(0), captured_steps: stepCaptureStats.steps - replayedBefore, of_steps: steps, host_ms_in_replays_per_step: +(replayHostTime.ms / steps).toFixed(1), replays_per_step: +(replayHostTime.runs / steps).toFixed(2) };
    console.log(JSON.stringify(r));
    results.push(r);
  }
  return {
    what: 'Graft LoRA training step (forward + loss + backward + AdamW in one graph), fp32 or fp16 base projections (LoRA, loss and AdamW fp32), r=16 on q,k,v,o,gate,up,down, random-init SmolLM2-135M shapes; median of steps after the first.',
    device: `${device.ep}: ${device.name}`,
    machine: machine(),
    date: new Date().toISOString(),
    commit: commit(),
    results,
    peers: { pytorch_peft_h100_bf16: [{ batch: 8, seq: 512, train_tok_s: 17018, step_ms: 240.7 }, { batch: 1, seq: 512, train_tok_s: 2244, step_ms: 228.1 }], source: 'shared/anchors/pytorch-peft-h100.json' },
  };
}

async function main() {
  const pref = arg('device', 'cpu') as DevicePref;
  const configs = arg('configs', '1x256').split(',').map((c) => c.split('x').map(Number) as [number, number]);
  const result = await stepBench(pref, configs);
  console.log('wrote', writeResult(`step-${(await resolveDevice(pref)).kind}-${new Date().toISOString().slice(0, 10)}`, result));
}

if (process.argv[1]?.endsWith('step-speed.ts')) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
