/**
 * Acceptance 5: CPU training throughput (tokens/s) of the real step runner for stories260K and for a
 * random model with SmolLM2-135M's shapes at seq 256, beside ONNX Runtime's own MatMul throughput on this
 * machine. The ratio of the training FLOP rate to the MatMul rate is our model-FLOPs utilisation (MFU).
 *
 *   npx tsx bench/train-throughput.ts [--steps N] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoraConfig } from '../src-main/engine/adapters/lora-config.js';
import { Graph } from '../src-main/engine/graph/ir.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import { openModelSource } from '../src-main/engine/io/model-source.js';
import { SMOLLM2_135M_SHAPES, writeRandomModel } from '../src-main/engine/models/random-model.js';
import * as op from '../src-main/engine/ops/index.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { GraphSession } from '../src-main/engine/runtime/session.js';
import { estimateTrainingMemory } from '../src-main/engine/train/memory-estimate.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';
import type { TokenBatch } from '../src-main/engine/train/types.js';

const argv = process.argv.slice(2);
const STEPS = Number(argv[argv.indexOf('--steps') + 1] || 0) || 3;
const JSON_OUT = argv.includes('--json');
const LORA: LoraConfig = { r: 16, alpha: 32, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], rslora: false };

/** Matmul FLOPs of one training token with LoRA: forward 2·N plus backward to the activations 2·N (frozen base: no weight gradients), attention included. */
function trainFlopsPerToken(c: HfConfig, seq: number): number {
  const h = c.hidden_size;
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? h / heads;
  const linear = c.num_hidden_layers * (2 * h * heads * hd + 2 * h * kv * hd + 3 * h * c.intermediate_size) + h * c.vocab_size;
  const attention = c.num_hidden_layers * 2 * 2 * seq * heads * hd; // scores and weighted sum, full (masked) square
  return 2 * (linear + attention) * 2;
}

async function matmulFlops(m: number, k: number, n: number, reps: number): Promise<number> {
  const g = new Graph('matmul_bench');
  const a = g.input('a', 'float32', [m, k]);
  const b = g.input('b', 'float32', [k, n]);
  g.output(op.matmul(g, a, b), 'c');
  const s = await GraphSession.create(g, { device: await resolveDevice('cpu') });
  const feeds = {
    a: { dtype: 'float32' as const, shape: [m, k], data: Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) / 13) },
    b: { dtype: 'float32' as const, shape: [k, n], data: Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) / 11) },
  };
  await s.run(feeds);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run(feeds);
  const sec = (performance.now() - t0) / 1000;
  await s.release();
  return (2 * m * k * n * reps) / sec;
}

async function trainTokensPerSec(modelPath: string, batch: number, seq: number, steps: number) {
  const source = await openModelSource(modelPath);
  const runner = await createStepRunner({ source, lora: LORA, device: 'cpu', batch, seqLen: seq, seed: 1 });
  const V = source.config.vocab_size;
  const make = (k: number): TokenBatch => {
    const ids = Int32Array.from({ length: batch * seq }, (_, i) => 3 + ((i * 31 + k * 17) % (V - 3)));
    return { inputIds: ids, labels: ids.slice(), batch, seqLen: seq };
  };
  const hp = (step: number) => ({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step, maxGradNorm: 1 });
  const t0 = performance.now();
  let r = await runner.accumulate(make(0)); // builds the sessions
  await runner.apply(hp(1), r.tokens);
  const buildAndFirst = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  for (let s = 0; s < steps; s++) {
    r = await runner.accumulate(make(s + 1));
    await runner.apply(hp(s + 2), r.tokens);
  }
  const sec = (performance.now() - t1) / 1000;
  await runner.dispose();
  const config = source.config;
  source.close();
  return { tokensPerSec: (batch * seq * steps) / sec, secPerStep: sec / steps, firstStepSec: buildAndFirst, config };
}

const tmp = mkdtempSync(join(tmpdir(), 'graft-bench-'));
try {
  // The machine may be shared: take the best of several short trials, before and after the training runs.
  const matmulPeak = async () => {
    let best = 0;
    for (let i = 0; i < 3; i++) best = Math.max(best, await matmulFlops(1024, 1024, 1024, 5), await matmulFlops(256, 576, 1536, 20));
    return best;
  };
  let matmul = await matmulPeak();
  const rows: Record<string, number | string>[] = [];
  const cases: [string, string, number, number][] = [
    ['stories260K', new URL('../../shared/models/stories260K/stories260K.gguf', import.meta.url).pathname, 8, 256],
    ['random SmolLM2-135M shapes', await writeRandomModel(join(tmp, 'smol'), SMOLLM2_135M_SHAPES), 1, 256],
  ];
  for (const [name, path, batch, seq] of cases) {
    const t = await trainTokensPerSec(path, batch, seq, name.startsWith('stories') ? STEPS * 10 : STEPS);
    const flops = trainFlopsPerToken(t.config, seq) * t.tokensPerSec;
    const estimate = estimateTrainingMemory({ config: t.config, lora: LORA, batch, seqLen: seq });
    rows.push({
      model: name,
      batch,
      seq,
      tokensPerSec: Math.round(t.tokensPerSec),
      secPerStep: +t.secPerStep.toFixed(3),
      firstStepSec: +t.firstStepSec.toFixed(2),
      trainGflops: +(flops / 1e9).toFixed(2),
      trainFlops: flops,
      // the process's peak so far (cases run smallest first), beside what the pre-flight estimate said
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      estimateMiB: Math.round(estimate.total / 2 ** 20),
    });
  }
  matmul = Math.max(matmul, await matmulPeak());
  for (const r of rows) {
    r.mfu = +((r.trainFlops as number) / matmul).toFixed(3);
    delete r.trainFlops;
  }
  const result = { cpu: cpus()[0]?.model, threads: cpus().length, ortMatmulGflops: +(matmul / 1e9).toFixed(1), rows };
  if (JSON_OUT) console.log(JSON.stringify(result));
  else {
    console.log(`CPU: ${result.cpu} (${result.threads} threads); ORT MatMul fp32: ${result.ortMatmulGflops} GFLOP/s`);
    console.table(rows);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
