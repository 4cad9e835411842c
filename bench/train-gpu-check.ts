/**
 * The training loop on the GPU (WebGPU EP): for stories260K, whether a run resumed from a checkpoint (LoRA and
 * moments read back from GPU buffers) repeats the uninterrupted curve, how far the GPU curve is from the CPU
 * one, and whether the adapter learnt the new name; then training tokens/s for SmolLM2-135M's shapes.
 * Bundled and run on the device machine: node train-gpu.cjs MODEL OUT_JSON
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoraConfig } from '../src-main/engine/adapters/lora-config.js';
import { prepareDataset } from '../src-main/engine/data/prepare.js';
import { computeLogits } from '../src-main/engine/infer/logits.js';
import { openModelSource } from '../src-main/engine/io/model-source.js';
import { specFromConfig } from '../src-main/engine/models/index.js';
import { SMOLLM2_135M_SHAPES, writeRandomModel } from '../src-main/engine/models/random-model.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';
import { runTrainingLoop, type TrainLoopOptions } from '../src-main/engine/train/trainer.js';

async function main(): Promise<void> {
  const [model, outJson] = process.argv.slice(2);
  const tmp = mkdtempSync(join(tmpdir(), 'graft-gpu-'));
  const data = join(tmp, 'zara.txt');
  const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
  writeFileSync(
    data,
    Array.from(
      { length: 48 },
      (_, i) => `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${places[i % 6]}. Zara was very happy.`,
    ).join('\n\n'),
  );
  const source = await openModelSource(model);
  const tok = (await source.tokenizer())!;
  const prepared = await prepareDataset(data, tok, { seqLen: 64, seed: 1 });
  const lora: LoraConfig = { r: 8, alpha: 16, dropout: 0.1, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], rslora: false };
  const loop = (device: 'cpu' | 'gpu', over: Partial<TrainLoopOptions> = {}) =>
    createStepRunner({ source, lora, device, batch: 4, seqLen: 64, seed: 1 }).then(async (runner) => {
      const t0 = performance.now();
      try {
        const r = await runTrainingLoop({
          runner,
          train: prepared.train,
          val: [],
          batch: 4,
          seqLen: 64,
          gradAccum: 1,
          padId: 2,
          steps: 40,
          lr: 5e-3,
          warmup: 4,
          schedule: 'cosine',
          seed: 1,
          maxGradNorm: 1,
          ...over,
        });
        return { r, state: await runner.getState(), sec: (performance.now() - t0) / 1000, device: runner.device };
      } finally {
        await runner.dispose();
      }
    });
  const ck = join(tmp, 'ck');
  const gpu = await loop('gpu', { saveEvery: 20, checkpointDir: ck });
  const resumed = await loop('gpu', { resumeFrom: join(ck, 'step-000020') });
  const cpu = await loop('cpu');
  const maxDiff = (a: { loss: number }[], b: { loss: number }[], from: number) =>
    Math.max(...a.slice(from).map((h, i) => Math.abs(h.loss - b[from + i].loss)));

  // Greedy from BOS with the GPU-trained adapter, on the CPU.
  const spec = specFromConfig(source.config, source.path);
  const tensors = new Map([...gpu.state.lora].map(([k, v]) => [k, v.data]));
  const adapter = { r: lora.r, alpha: lora.alpha, rslora: false, targets: lora.targets, tensors };
  const ids = [tok.bosId!];
  for (let s = 0; s < 30; s++) {
    const logits = await computeLogits({ source, spec }, [ids], { adapters: [{ weights: adapter }], device: 'cpu' });
    const last = logits.subarray((ids.length - 1) * spec.vocab, ids.length * spec.vocab);
    let best = 0;
    for (let i = 1; i < spec.vocab; i++) if (last[i] > last[best]) best = i;
    ids.push(best);
  }

  const smolDir = await writeRandomModel(join(tmp, 'smol'), SMOLLM2_135M_SHAPES);
  const smol = await openModelSource(smolDir);
  const runner = await createStepRunner({
    source: smol,
    lora: { ...lora, r: 16, alpha: 32, dropout: 0 },
    device: 'gpu',
    batch: 4,
    seqLen: 256,
    seed: 1,
  });
  const V = smol.config.vocab_size;
  const batch = (k: number) => {
    const inputIds = Int32Array.from({ length: 4 * 256 }, (_, i) => 3 + ((i * 31 + k * 17) % (V - 3)));
    return { inputIds, labels: inputIds.slice(), batch: 4, seqLen: 256 };
  };
  const hp = (step: number) => ({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step, maxGradNorm: 1 });
  let t0 = performance.now();
  let a = await runner.accumulate(batch(0));
  await runner.apply(hp(1), a.tokens);
  const firstStepSec = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const steps = 10;
  for (let s = 0; s < steps; s++) {
    a = await runner.accumulate(batch(s + 1));
    await runner.apply(hp(s + 2), a.tokens);
  }
  const sec = (performance.now() - t0) / 1000;
  await runner.dispose();

  const result = {
    device: gpu.device,
    stories260K: {
      gpuSec: +gpu.sec.toFixed(2),
      cpuSec: +cpu.sec.toFixed(2),
      firstLoss: gpu.r.history[0].loss,
      lastLoss: gpu.r.history[39].loss,
      resumeMaxAbsDiffSteps21to40: maxDiff(resumed.r.history, gpu.r.history, 20),
      gpuVsCpuMaxAbsDiffAll: maxDiff(gpu.r.history, cpu.r.history, 0),
      gpuVsCpuMaxAbsDiffFirst5: maxDiff(gpu.r.history.slice(0, 5), cpu.r.history.slice(0, 5), 0),
      greedyWithAdapter: tok.decode(ids, { skipSpecial: true }),
    },
    smollm2Shapes: {
      batch: 4,
      seq: 256,
      firstStepSec: +firstStepSec.toFixed(2),
      secPerStep: +(sec / steps).toFixed(4),
      tokensPerSec: Math.round((4 * 256 * steps) / sec),
    },
  };
  writeFileSync(outJson, JSON.stringify(result, null, 1));
  console.log(JSON.stringify(result, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
