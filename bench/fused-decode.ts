/**
 * The fused decode graph against the plain one on a SmolLM2-135M-shaped random model: ops per decode
 * step (per type, per layer, total; single stream and 4 side-by-side rows with rank-16 adapters on all
 * targets) and CPU decode speed of both, measured in one run so they share the machine's load.
 *   npx tsx bench/fused-decode.ts [--device cpu|gpu] [--tokens 32] [--reps 5] [--no-speed]
 * For the GPU machine, bench/gpu-run.ts can call fusedDecodeBench('gpu', 64, 3).
 */
import type { AdapterWeights } from '../src-main/engine/adapters/adapter-weights.js';
import { loraSlots } from '../src-main/engine/adapters/lora.js';
import { LORA_TARGETS } from '../src-main/engine/adapters/lora-config.js';
import { SeededRng } from '../src-main/engine/data/rng.js';
import { layoutFor, rowLoraFeeds, type RowAdapter, type RowLoraLayout } from '../src-main/engine/adapters/row-lora.js';
import type { Graph } from '../src-main/engine/graph/ir.js';
import { buildDecodeGraph } from '../src-main/engine/infer/decode-graph.js';
import { buildFusedDecodeGraph } from '../src-main/engine/infer/fused-decode-graph.js';
import { KvDecoder } from '../src-main/engine/infer/kv-decoder.js';
import { loadModel, type LoadedModel } from '../src-main/engine/model.js';
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { arg, benchModel, commit, machine, writeResult } from './common.js';

function opCounts(g: Graph, layers: number) {
  const byType: Record<string, number> = {};
  for (const n of g.nodes) byType[n.op] = (byType[n.op] ?? 0) + 1;
  const sorted = Object.fromEntries(Object.entries(byType).sort((a, b) => b[1] - a[1]));
  return { total: g.nodes.length, per_layer: +(g.nodes.length / layers).toFixed(2), by_type: sorted };
}

function graphs(model: LoadedModel, batch: number, lora: RowLoraLayout | null) {
  const o = { spec: model.spec, source: model.source, batch, tokens: 1, capacity: 128, lora };
  return { plain: opCounts(buildDecodeGraph(o), model.spec.layers), fused: opCounts(buildFusedDecodeGraph(o), model.spec.layers) };
}

function adapter(model: LoadedModel, seed: number): AdapterWeights {
  const rng = new SeededRng(seed);
  const tensors = new Map<string, Float32Array>();
  for (const slot of loraSlots(model.spec, { r: 16, targets: [...LORA_TARGETS] })) {
    tensors.set(slot.peftA, Float32Array.from({ length: slot.shapeA[0] * slot.shapeA[1] }, () => (rng.next() - 0.5) * 0.02));
    tensors.set(slot.peftB, Float32Array.from({ length: slot.shapeB[0] * slot.shapeB[1] }, () => (rng.next() - 0.5) * 0.02));
  }
  return { r: 16, alpha: 32, rslora: false, targets: [...LORA_TARGETS], tensors };
}

/**
 * Decode speed of both graph kinds on warm sessions: per round, each kind prefills the prompt and
 * decodes `tokens` greedy steps; kinds alternate round by round so both see the same (shared, noisy)
 * machine. Reports the best round's tokens/s and the fastest and median single step.
 */
async function speed(model: LoadedModel, pref: DevicePref, tokens: number, rows: RowAdapter[][], reps: number) {
  const device = await resolveDevice(pref);
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const layout = layoutFor(rows);
  const V = model.spec.vocab;
  const kinds = ['plain', 'fused'] as const;
  const decoders = kinds.map((k) => new KvDecoder(model, { device, rows: rows.length, capacity: 128, lora: layout, fused: k === 'fused' }));
  const steps: Record<string, number[]> = { plain: [], fused: [] };
  const best: Record<string, number> = { plain: 0, fused: 0 };
  try {
    for (const d of decoders) if (layout) await d.setLora(rowLoraFeeds(model.spec, layout, rows));
    for (let round = 0; round <= reps; round++) {
      for (const [k, d] of decoders.entries()) {
        let logits = await d.prefill(rows.map(() => prompt), tokens);
        if (d.mode !== kinds[k]) throw new Error(`expected the ${kinds[k]} graph, got ${d.mode}`);
        const t0 = performance.now();
        for (let s = 0; s < tokens; s++) {
          const next = rows.map((_, b) => argmax(logits.subarray(b * V, (b + 1) * V)));
          const ts = performance.now();
          logits = await d.decode(next);
          if (round > 0) steps[kinds[k]].push(performance.now() - ts);
        }
        if (round > 0) best[kinds[k]] = Math.max(best[kinds[k]], tokens / ((performance.now() - t0) / 1000)); // round 0 warms up
      }
    }
  } finally {
    for (const d of decoders) await d.dispose();
  }
  const stat = (k: string) => {
    const s = [...steps[k]].sort((a, b) => a - b);
    return { tokens_per_s: +best[k].toFixed(1), fastest_step_ms: +s[0].toFixed(1), median_step_ms: +s[s.length >> 1].toFixed(1) };
  };
  return { plain: stat('plain'), fused: stat('fused') };
}

function argmax(a: Float32Array): number {
  let m = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[m]) m = i;
  return m;
}

/** Op counts and (unless speed is false) decode speed of both graphs; the result object written to bench/results. */
export async function fusedDecodeBench(pref: DevicePref, tokens: number, reps: number, speedToo = true) {
  const model = await loadModel(await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES));
  const ops = {
    single_stream: graphs(model, 1, null),
    side_by_side_4_lora_r16_all_targets: graphs(model, 4, { targets: [...LORA_TARGETS], rank: 16 }),
  };
  console.log(JSON.stringify(ops, null, 1));
  let decode: object | null = null;
  if (speedToo) {
    const single = await speed(model, pref, tokens, [[]], reps);
    console.log('single stream', JSON.stringify(single));
    const four = await speed(model, pref, tokens, [[], ...[1, 2, 3].map((k) => [{ weights: adapter(model, k), scale: 1 }])], reps);
    console.log('4 side by side (tokens/s per stream)', JSON.stringify(four));
    decode = { new_tokens: tokens, prompt_tokens: 32, runs_per_kind: reps, single_stream: single, side_by_side_4_per_stream: four };
  }
  const device = await resolveDevice(pref);
  return {
    what: 'Ops per decode step (T = 1) of the plain and fused decode graphs, SmolLM2-135M shapes; decode speed of both on warm sessions (greedy, fp32, prompt 32, capacity 128; single stream and base + 3 rank-16 adapters side by side; best of N rounds after a warm-up round, plain and fused alternating; tokens/s is per stream).',
    device: `${device.ep}: ${device.name}`,
    machine: machine(),
    date: new Date().toISOString(),
    commit: commit(),
    ops,
    decode,
  };
}

async function main() {
  const pref = arg('device', 'cpu') as DevicePref;
  const speedToo = !process.argv.includes('--no-speed');
  const result = await fusedDecodeBench(pref, Number(arg('tokens', '32')), Number(arg('reps', '5')), speedToo);
  if (!speedToo) return; // op counts only: printed, the speed result on file is kept
  const kind = (await resolveDevice(pref)).kind;
  console.log('wrote', writeResult(`fused-decode-${kind}-${new Date().toISOString().slice(0, 10)}`, result));
}

if (process.argv[1]?.endsWith('fused-decode.ts')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
