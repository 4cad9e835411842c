/**
 * Session 21's result file, from its device calls (raw logs in bench/results/raw/s21-call-*):
 * bench/results/decode-fp16-h200-2026-12-04.json, the fused decode graph in fp16 against fp32 on an H200:
 * F (s21-f.sh: A/B at 0.5B and 135M, 3 rounds alternating in one process, and how far greedy ids agree),
 * G (s21-g.sh: ORT's op-by-op profile of 4 rows in each, and the A/B at 1.5B), R (s21-r.sh: which rows make fp16
 * slower), D (s21-d.sh: the default, 'auto', as the app runs it, first and second start). No llama.cpp in these
 * calls: the peer of each row is Graft's fp32 graph in the same process.
 *   npx tsx bench/gpu/report-s21.ts COMMIT
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { writeResult } from '../common.js';
import { ab, sections, type J } from './report-lines.js';

const [commit] = process.argv.slice(2);
const RAW = 'bench/results/raw';
const lines = (file: string) => sections(path.join(RAW, file)).map(({ section, r }) => ({ section, ...r }) as J);
const profile = (name: string) => {
  const p = JSON.parse(readFileSync(path.join(RAW, 's21-call-g', `profile-${name}.json`), 'utf8'));
  return { total_gpu_ms_per_step: p.total_ms, dispatches_per_step: p.dispatches, by_op: p.by_op.slice(0, 10) };
};
const f = lines('s21-call-f/f.log');
const g = lines('s21-call-g/g.log');
const r = lines('s21-call-r/r.log');
const d = lines('s21-call-d/d.log');

const result = {
  what: "The fused decode graph in fp16 (weights, activations, KV caches; logits cast to fp32 once) against fp32, captured, on the WebGPU EP; and generation's 'auto' precision (fp16 for rows of the base alone, fp32 with adapter rows) as the app runs it.",
  device: 'NVIDIA H200, driver 580.159.04 (WebGPU EP, Vulkan), onnxruntime-node 1.30',
  date: '2026-12-04',
  commit,
  peer: "Graft's own fp32 fused graph, in the same process (A/B, alternating). No llama.cpp ran in these calls: the ratios against it stay session 20's (gpu-vs-peers-2026-12-04-s20-b.json).",
  calls: {
    F: 'bench/gpu/s21-f.sh, fresh, bundle 2dd1842 (fp16 by GRAFT_DECODE_FP16=1), nothing beside; 1.5B ran out of the call',
    G: 'bench/gpu/s21-g.sh, fresh, bundle a7720b0, nothing beside',
    R: 'bench/gpu/s21-r.sh, fresh, bundle 0da4b1a, nothing beside; round 1 cut by its timeout',
    D: "bench/gpu/s21-d.sh, fresh, bundle fca4e6a (the precision option, default 'auto'), nothing beside; before the fp16 weights were laid out by the weight threads (first start: see first_start)",
  },
  ab_F_G: {
    how: "gpu-explore f16-ab: greedy tok/s, best of 3 generations of 64 tokens a round after one unmeasured, 3 rounds alternating fp16 (now) and fp32 (before); one base row, and 4 rows (base + 3 rank-16 adapters on all 7 targets) in all",
    rows: [ab(f, 'qwen2.5-0.5b'), ab(f, 'smollm2-135m'), ab(g, 'qwen2.5-1.5b')],
    greedy_agreement: f.filter((x) => x.f16_agreement).map(({ section: _s, ...x }) => x),
    agreement_note: 'random-weight models: their top logits lie close, so fp16 and fp32 greedy ids part early; the real stories260K gives the same ids over 24 steps (test/engine/infer/fused-half.test.ts, lavapipe)',
  },
  which_rows_R: {
    how: 'gpu-explore f16-rows: per-row greedy tok/s (best of 3 after one), captured, fp16 then fp32, round 0 (round 1 was cut by the timeout)',
    rows: r.filter((x) => x.rows).map(({ section: _s, ...x }) => x),
    reading: 'the adapter rows, not the batch, make fp16 slower: 4 base rows +15% in fp16, one adapter row -8%, 4 adapter rows -15%',
  },
  profile_G: {
    how: "ORT's profiler (GPU timestamps, not captured), 0.5B, 4 rows with adapters, 126 steps; bench/ort-profile-summary.py",
    fp16: profile('d4f16'),
    fp32: profile('d4f32'),
    reading: "kernel by kernel fp16 takes less GPU time (12.26 against 13.68 ms a step, every LoRA-shaped MatMul a little less) while the captured replays of the same rows ran slower: the cost is not in the kernels' own timestamps. Not found this session.",
  },
  default_auto_D: d.filter((x) => x.greedy_tok_s).map(({ section, ...x }) => ({ run: section, ...x })),
  first_start: {
    measured_D: "0.5B: first token 7.45 s from an empty graph cache (session 20's call H, fp32: 4.74 s; the target is 10 s), 0.54 s in a second process (target 2 s); 1.5B 18.4 s (call H: 9.1 s)",
    cause: 'the fp16 graph encoded every weight on the calling thread after the fp32 layout: bench/fused-build-time.ts on this 2-core host, 0.5B, 24.5-25.0 s against 11.2-13.2 for fp32',
    fixed_after_D: 'the weight threads now encode as they transpose (fused-weights.ts transposeConcat, weight-threads.ts transposeHalfOnThreads): the same script, fp16 11.2-14.3 s on the calling thread alone, 5.0-9.3 s with 2 threads, against fp32 11.7-14.8. Not measured on the H200: no device time was left',
  },
};
console.log('wrote', writeResult('decode-fp16-h200-2026-12-04', result));
