/**
 * Dispatches a decode step of the fused graph makes on the GPU, counted from the graph the code builds (no device
 * needed): its nodes by op, Reshapes left out (the EP aliases them, no kernel), GroupQueryAttention counted as the 3
 * kernels session 18's profile saw each run (72.8 a 24-layer step: docs/gpu-speed.md, sixteenth pass). The GPU forms
 * as gpu-forms.ts sets them on an H200 (split-K, the padded stream, fp16), per model shape and kind of rows: the base
 * alone, one row with a rank-16 adapter on all 7 targets, 4 such rows. Real widths and vocabulary, 1 and 2 layers:
 * per layer is their difference, the rest (embedding, LM head, argmax) what is left; the whole model's step follows.
 *   npx tsx bench/decode-dispatches.ts   → bench/results/decode-dispatches-<date>.json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LORA_TARGETS } from '../src-main/engine/adapters/lora-config.js';
import type { RowLoraLayout } from '../src-main/engine/adapters/row-lora.js';
import type { Graph } from '../src-main/engine/graph/ir.js';
import { buildFusedDecodeGraph } from '../src-main/engine/infer/fused-decode-graph.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../src-main/engine/model.js';
import { QWEN25_05B_SHAPES, SMOLLM2_135M_SHAPES, writeRandomModel } from '../src-main/engine/models/random-model.js';
import { commit, writeResult } from './common.js';
import { QWEN25_15B_SHAPES } from './gpu-explore.js';

/** Kernels one GroupQueryAttention node ran a decode step in session 18's profile (call P). */
const GQA_KERNELS = 3;

function dispatches(g: Graph): Record<string, number> {
  const by: Record<string, number> = {};
  for (const n of g.nodes) if (n.op !== 'Reshape') by[n.op] = (by[n.op] ?? 0) + (n.op === 'GroupQueryAttention' ? GQA_KERNELS : 1);
  return by;
}
const total = (by: Record<string, number>) => Object.values(by).reduce((a, b) => a + b, 0);

function count(model: LoadedModel, rows: number, lora: RowLoraLayout | null) {
  // gpu-forms.ts's defaults on the WebGPU EP: split-K to ~1,024 workgroups on every projection slices fit, the
  // adapters' x·Aᵀ split alike, the argmax in parts, the stream padded to 256, fp16
  return dispatches(buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: rows, tokens: 1, capacity: 256, lora, anyLength: true, argmax: true, splitK: 1024, splitKAll: true, loraSplitK: 1024, argmaxParts: true, padStream: true, half: true, nbitsFusion: 'mlp' }));
}

async function main() {
  const shapes: Record<string, HfConfig> = { 'smollm2-135m': SMOLLM2_135M_SHAPES, 'qwen2.5-0.5b': QWEN25_05B_SHAPES, 'qwen2.5-1.5b': QWEN25_15B_SHAPES };
  const lora: RowLoraLayout = { targets: [...LORA_TARGETS], rank: 16 };
  const kinds: [string, number, RowLoraLayout | null][] = [
    ['base, one row', 1, null],
    ['one row with an adapter', 1, lora],
    ['4 rows with adapters', 4, lora],
  ];
  const rows = [];
  for (const [name, cfg] of Object.entries(shapes)) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-dispatches-'));
    try {
      // one model of each depth, written once for every kind of rows
      const [l1, l2] = await Promise.all([1, 2].map(async (layers) => loadModel(await writeRandomModel(path.join(dir, `l${layers}`), { ...cfg, num_hidden_layers: layers }, { seed: 1 }))));
      for (const [kind, B, layout] of kinds) {
        const [one, two] = [count(l1, B, layout), count(l2, B, layout)];
        const layer = Object.fromEntries(Object.keys(two).map((op) => [op, two[op] - (one[op] ?? 0)]).filter(([, n]) => n !== 0));
        const perLayer = total(two) - total(one);
        const rest = total(one) - perLayer;
        rows.push({ shape: name, rows: kind, layers: cfg.num_hidden_layers, per_layer: perLayer, per_layer_by_op: layer, outside_layers: rest, per_step: rest + perLayer * cfg.num_hidden_layers! });
        console.log(JSON.stringify(rows.at(-1)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('wrote', writeResult(`decode-dispatches-${new Date().toISOString().slice(0, 10)}`, { what: 'Dispatches a fused decode step makes on the WebGPU EP, counted from the graphs this commit builds (Reshapes left out; GroupQueryAttention as 3 kernels, as profiled)', date: new Date().toISOString(), commit: commit(), device: 'none: graph structure only', rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
