import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { halfWeights } from '../../../src-main/engine/models/half-weights.js';
import { createTimings } from '../../../src-main/engine/runtime/session.js';
import { adamwSlicing } from '../../../src-main/engine/train/adamw.js';
import { lossChunking } from '../../../src-main/engine/train/loss.js';
import { stepCaptureStats } from '../../../src-main/engine/train/step-capture.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';
import type { TrainerState } from '../../../src-main/engine/train/types.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { gpuOk, gpuSkipReason } from '../webgpu-under-test.js';

// Training steps replayed from the WebGPU EP's graph capture (train/step-capture.ts) against the same steps
// run op by op: the same kernels on the same values, so losses, gradient norms and the trained factors agree
// to the last bits the GPU's summation order leaves (1e-6 relative). Capture exists on WebGPU only; lavapipe
// runs it in CI.
const QWEN2 = path.resolve(import.meta.dirname, '../../../../shared/fixtures/hf-reference/qwen2/model');
const before = process.env.GRAFT_GRAPH_CAPTURE;
afterEach(() => {
  if (before === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
  else process.env.GRAFT_GRAPH_CAPTURE = before;
});

const hp = (step: number) => ({ lr: 1e-2 / step, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step, maxGradNorm: 1 });

interface Run {
  losses: number[];
  norms: number[];
  factors: Float32Array;
  captured: number;
  stepGraphs: number;
}

/**
 * Three steps on two batches, then the state set back to what it was after the first (a resumed run), two
 * more steps and an evaluation: every figure, and the trained factors at the end.
 */
async function train(capture: boolean, weights: WeightsFactory | undefined, dropout: number, sliced: boolean): Promise<Run> {
  process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
  const forms = [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above] as const;
  // the 8B step's forms on a tiny model: the loss over row slices, the update over 700-value slices
  if (sliced) [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above] = [4000, 700, 0];
  const model = await loadModel(QWEN2);
  const mk = (k: number) => {
    const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37 + k * 11) % 500);
    return { inputIds: ids, labels: ids, batch: 2, seqLen: 16 };
  };
  const lora = { r: 4, alpha: 8, dropout, rslora: false, targets: [...LORA_TARGETS] };
  const created = createTimings.length;
  const stepsBefore = stepCaptureStats.steps;
  const r = await createStepRunner({
    source: model.source,
    spec: model.spec,
    lora,
    device: 'gpu',
    batch: 2,
    seqLen: 16,
    seed: 3,
    weights,
    recomputeActivations: sliced,
  });
  const losses: number[] = [];
  const norms: number[] = [];
  try {
    const step = async (s: number) => {
      const o = await r.step(mk(s), hp(s));
      losses.push(o.lossSum / o.tokens);
      norms.push(o.gradNorm);
    };
    await step(1);
    const saved: TrainerState = await r.getState();
    await step(2);
    await step(3);
    await r.setState(saved);
    await step(2);
    await step(3);
    const ev = await r.evalLoss(mk(9));
    losses.push(ev.lossSum / ev.tokens);
    const state = await r.getState();
    const factors = Float32Array.from([...state.lora.values()].flatMap((t) => [...t.data]));
    const stepGraphs = createTimings.slice(created).filter((t) => t.graph === 'train_step').length;
    return { losses, norms, factors, captured: stepCaptureStats.steps - stepsBefore, stepGraphs };
  } finally {
    await r.dispose();
    [lossChunking.bytes, adamwSlicing.values, adamwSlicing.above] = forms;
  }
}

const close = (a: number, b: number, rel: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(a), Math.abs(b), 1e-30));

describe.skipIf(!gpuOk)(`graph-captured training steps${gpuSkipReason}`, () => {
  it.each([
    ['fp32 weights held by the graph, LoRA dropout 0.1 (masks written each step)', undefined, 0.1, false],
    ['resident fp16 projections fed to the graph', halfWeights, 0, false],
    ['recomputed activations, sliced loss and sliced update (the 8B forms)', halfWeights, 0, true],
  ])(
    'WebGPU EP: %s: the same losses, norms and factors as plain runs, through a resumed state',
    async (_name, weights, dropout, sliced) => {
      const plain = await train(false, weights, dropout, sliced);
      const captured = await train(true, weights, dropout, sliced);
      expect(plain.captured).toBe(0);
      // five steps replayed, none run by an onnxruntime-node session of the step graph
      expect(captured.captured).toBe(5);
      expect(captured.stepGraphs).toBe(0);
      expect(plain.stepGraphs).toBe(1);
      captured.losses.forEach((l, i) => close(l, plain.losses[i], 1e-6));
      captured.norms.forEach((n, i) => close(n, plain.norms[i], 1e-5));
      // the resumed steps repeat steps 2 and 3 exactly, so the state written into the capture's buffers took
      expect(captured.losses[3]).toBe(captured.losses[1]);
      expect(captured.losses[4]).toBe(captured.losses[2]);
      // the steps did train: the loss moved, and so did the factors
      expect(Math.abs(captured.losses[2] - captured.losses[0])).toBeGreaterThan(1e-4);
      let worst = 0;
      captured.factors.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - plain.factors[i]))));
      expect(worst).toBeLessThan(1e-6);
    },
    180_000,
  );
});
