/**
 * The fused decode graph's build time on the host (weights laid out, no session), fp32 against fp16, each in a
 * fresh model object: what the first start spends before ORT sees the graph. npx tsx bench/fused-build-time.ts
 * [NAME] (a bench shape of bench/gpu-explore.ts's, default qwen2.5-0.5b).
 */
import { buildFusedDecodeGraph } from '../src-main/engine/infer/fused-decode-graph.js';
import { loadModel } from '../src-main/engine/model.js';
import { QWEN25_05B_SHAPES } from '../src-main/engine/models/random-model.js';
import { benchModel } from './common.js';

const name = process.argv[2] ?? 'qwen2.5-0.5b';
const dir = await benchModel(name, QWEN25_05B_SHAPES);
for (const half of [false, true, false, true]) {
  const model = await loadModel(dir);
  const t0 = performance.now();
  const g = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 128, lora: null, anyLength: true, argmax: true, logitsToo: true, splitK: 1024, splitKAll: true, padStream: true, half });
  console.log(JSON.stringify({ model: name, half, build_ms: Math.round(performance.now() - t0), initializers: g.initializers.size }));
}
