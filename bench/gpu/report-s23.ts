/**
 * Session 23's result file beside its gpu-vs-peers file (call D, report-s23-d.sh): where a decode step's time goes,
 * from the raw logs in bench/results/raw/s23-call-*:
 * A (s23-a.sh: onnxruntime-node 1.31.1 against 1.30.0, one process each, alternating; a 0.5B step against its depth),
 * B (s23-b.sh: against its vocabulary too; greedy chains of 1, 8 and 32 steps; verify-reference under 1.31.1),
 * C (s23-c.sh: the 1-layer step replayed against op by op; its op-by-op profile; the SM clock),
 * E (s23-e.sh: one process against two at once; a submit every dispatch), F (s23-f.sh: the decode rows at the growing
 * chains against chains of 8, one process each, alternating), G (s23-g.sh: chains of 16 and 32 in rounds over 8
 * captures against 8, in one process), and call D's chain A/B.
 *   npx tsx bench/gpu/report-s23.ts COMMIT
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { ab, type J, mean, sections } from './report-lines.js';

const [commit] = process.argv.slice(2);
const RAW = 'bench/results/raw';
const lines = (file: string) => sections(path.join(RAW, file)).map(({ section, r }) => ({ section: section.replace(/ at \d+( s)?:?/, ':').replace(/:$/, ''), ...r }) as J);
/** A decode line's figures (decodeExplore with DECODE_QUICK): the greedy row, its wall and host time a step. */
const step = (x: J) => ({ run: x.section, model: x.model, tok_s: x.greedy_tok_s, wall_ms: x.greedy_wall_ms_per_step, host_ms_in_replays: x.greedy_host_ms_per_step, ...(x.submit_window !== 256 ? { submit_window: x.submit_window } : {}) });
const a = lines('s23-call-a/a.log');
const b = lines('s23-call-b/b.log');
const c = lines('s23-call-c/c.log');
const d = lines('s23-call-d/graft-d2.log');
const e = lines('s23-call-e/e.log');
const f = lines('s23-call-f/f.log');
const g = lines('s23-call-g/g.log');
const ortArm = (x: J) => (/ort 1\.31/.test(x.section) ? '1.31.1' : '1.30.0');
const byOrt = (rows: J[], f: (x: J) => number) => Object.fromEntries(['1.31.1', '1.30.0'].map((v) => [v, rows.filter((x) => ortArm(x) === v).map(f)]));
const decodeA = a.filter((x) => /decode 0\.5B, base one row/.test(x.section));
const rowsA = a.filter((x) => /every kind of rows/.test(x.section));
const gemmA = a.filter((x) => x.bench === 'gemm-ceiling');
const stepA = a.filter((x) => /step 8x512/.test(x.section));
const profile = JSON.parse(readFileSync(path.join(RAW, 's23-call-c/profile-l1.json'), 'utf8'));
// NVML's utilization.gpu (the share of its sample period in which a kernel ran) every 50 ms from the call's start,
// averaged over each "== ... at N" section of call E's log (a section's decode includes its model's first run)
const util = readFileSync(path.join(RAW, 's23-call-e/util.csv'), 'utf8').trim().split('\n').map((l) => {
  const [when, , u] = l.split(', ');
  return { s: Date.parse(when.replace(/\//g, '-').replace(' ', 'T') + 'Z') / 1000, u: parseFloat(u) };
});
const starts = readFileSync(path.join(RAW, 's23-call-e/e.log'), 'utf8').split('\n').flatMap((l) => {
  const m = /^== (.*) at (\d+)$/.exec(l);
  return m ? [{ section: m[1], at: Number(m[2]) }] : [];
});
const utilBySection = starts.map((x, i) => {
  const [from, to] = [util[0].s + x.at, util[0].s + (starts[i + 1]?.at ?? x.at + 2)];
  const us = util.filter((p) => p.s >= from && p.s < to).map((p) => p.u);
  return { section: x.section, seconds: to - from, samples: us.length, mean_utilization_pct: us.length ? mean(us) : null };
});
const result = {
  what: "Session 23: where a decode step's time goes on the H200 (the fixed part a step pays whatever its depth and vocabulary, the part a layer adds), and onnxruntime-node 1.31.1 against 1.30.0. Every row greedy, one base row, fp16, captured, chains of 8 unless named.",
  device: 'webgpu: NVIDIA H200 (driver 580.159.04)',
  date: '2026-12-04',
  commit,
  calls: {
    A: 'bench/gpu/s23-a.sh, fresh, 268 s, bundle 8ebcc16 (carry from s23-prepare.sh)',
    B: 'bench/gpu/s23-b.sh, fresh then again on the machine it left warm (its first run cut the figures off its lines; verify-reference is the first run\'s), bundle 8d00505',
    C: 'bench/gpu/s23-c.sh, fresh, 61 s, bundle e89b67c',
    D: "AB='chain-ab qwen2.5-0.5b' bash bench/gpu/decode-all-one-call.sh, fresh, 418 s, bundle 76c7c77 (gpu-vs-peers-2026-12-04-s23-d.json)",
    E: 'bench/gpu/s23-e.sh, fresh, 43 s, bundle 9a9bda3',
    F: 'bench/gpu/s23-f.sh, fresh, 335 s, bundle 47cbac1',
    G: 'bench/gpu/s23-g.sh, fresh, 68 s, bundle 7c1abb7',
  },
  ort_1_31_against_1_30_call_A: {
    how: 'one process each, alternating 1.31.1, 1.30.0, 1.31.1, 1.30.0; a graph cache each',
    decode_05b_one_row_tok_s: byOrt(decodeA, (x) => x.greedy_tok_s),
    decode_05b_rows: Object.fromEntries(rowsA.map((x) => [ortArm(x), { one_row: x.greedy_tok_s, four_rows_a_row: x.greedy_4rows_tok_s_per_row, four_adapters_a_row: x.greedy_4adapters_tok_s_per_row, one_adapter: x.greedy_1adapter_tok_s }])),
    gemm_tflops: Object.fromEntries(['1.31.1', '1.30.0'].map((v) => [v, gemmA.filter((x) => ortArm(x) === v).map((x) => ({ shape: `${x.M}x${x.K}x${x.N}`, dtype: x.dtype, form: x.form, tflops: x.tflops }))])),
    train_05b_8x512_fp16_tok_s: byOrt(stepA, (x) => x.train_tokens_per_s),
    reading: 'no difference beyond the rounds\' spread: decode, the EP\'s GEMM rate and the training step alike. 1.31.1 stays (its EP, in the strings of its library, adds a MatMul planner with GEMV and subgroup-matrix paths, neither of which these shapes reach on this GPU).',
  },
  depth_and_vocabulary: {
    how: 'random models of 0.5B\'s width (896, padded to 1,024) cut to 1, 6, 12 or 24 layers (NAME~lN) and to a vocabulary of 8,192 (NAME~v8192) against 151,936; gpu-explore decode with DECODE_QUICK=2',
    call_A: a.filter((x) => /depth and vocabulary/.test(x.section)).map(step),
    call_B: b.filter((x) => /^round/.test(x.section)).map(step),
    reading: 'a 1-layer step takes 1.1-1.5 ms; each further layer 0.06 ms up to 6 layers, 0.13 ms from 6 to 24; the 151,936-word LM head and argmax 0.15-0.2 ms over the 8,192-word one at 1 and at 24 layers.',
  },
  chains_call_B: {
    how: 'GRAFT_GREEDY_CHAIN=1, 32, 8: steps between two reads of the ids',
    rows: b.filter((x) => /^chain/.test(x.section)).map(step),
    reading: 'a read costs ~0.5 ms at 1 layer and ~2 ms at 24 (the GPU drained, then waiting for the host to encode the next step); 32 against 8 within one run\'s spread here, 8% in call D\'s A/B',
  },
  chains_call_D: { how: 'gpu-explore chain-ab qwen2.5-0.5b (3 rounds alternating in one process, under the llama.cpp build\'s load): now = 16, before = 8, chain_32', ...ab(d.filter((x) => /chain-ab/.test(x.section)), 'qwen2.5-0.5b') },
  chains_in_rounds_call_G: {
    how: 'gpu-explore chain-ab qwen2.5-0.5b, nothing beside, 3 rounds alternating in one process: now = chains of 16, before = 8, chain_32; chains past 8 steps run in rounds over the same 8 captures (decode-capture.ts CHAIN_SLOTS), so the GPU memory the captures hold does not grow',
    ...ab(g.filter((x) => /chain-ab/.test(x.section)), 'qwen2.5-0.5b'),
  },
  growing_chains_call_F: {
    how: 'decodeExplore with DECODE_QUICK=1 at the default (chains of 8, 16, then 32) and with GRAFT_GREEDY_CHAIN=8, one process each, alternating: 0.5B, 135M, 1.5B, 0.5B',
    rows: f.map((x) => ({ chains: /chains default/.test(x.section) ? '8, 16, 32' : '8', model: x.model, one_row_tok_s: x.greedy_tok_s, four_rows_tok_s_a_row: x.greedy_4rows_tok_s_per_row, four_adapters_tok_s_a_row: x.greedy_4adapters_tok_s_per_row, one_adapter_tok_s: x.greedy_1adapter_tok_s, four_rows_host_ms_in_replays: x.greedy_4rows_host_ms_per_step })),
    reading: "one process a run, so each figure carries that process's spread: one row 0.5B 208.5 then 249.1 against 240.5 then 215.4, 135M 250.0 against 194.6, 1.5B 176.5 against 158.0; 4 rows a row 0.5B 177.6, 170.0 against 178.6, 174.1, 135M 152.6 against 156.5, 1.5B 113.6 against 102.6. The host's time inside the 4-row replays doubles (7.7-9.2 against 3.6-5.9 ms a step): it runs up to 32 steps ahead and waits inside the replay, which the wall time does not show.",
  },
  captured_against_op_by_op_call_C: c.filter((x) => /^round/.test(x.section)).map(step),
  profile_1_layer_call_C: {
    how: "ORT's profile of the 1-layer, 8,192-word step run op by op (GPU timestamps; the profiler puts ~7 µs under each kernel), 126 steps",
    gpu_ms_per_step: profile.total_ms,
    dispatches_per_step: profile.dispatches,
    heaviest: profile.by_shape.slice(0, 8).map((r: J) => ({ op: r.op, us_each: r.us_each, shapes: r.shapes.slice(0, 90) })),
  },
  two_processes_call_E: {
    how: 'the same decode alone, then two processes at once (cores 0-3 and 8-11), two rounds each',
    rows: e.filter((x) => /alone|two at once/.test(x.section)).map(step),
    reading: "1 layer: two processes at once each decode as fast as one alone (1.09 ms a step, round 1), so its ~1.1 ms is a latency of each process's queue, not the GPU's capacity; 24 layers: two at once each take twice as long (7.8-8.1 ms against 4.0-4.1), so a 0.5B step is the GPU's own time",
  },
  submit_every_dispatch_call_E: e.filter((x) => /^window/.test(x.section)).map(step),
  nvml_utilization_call_E: {
    how: "nvidia-smi utilization.gpu every 50 ms, averaged over each section of call E's log (each section's window includes its process start and first generation)",
    by_section: utilBySection,
  },
};
console.log('wrote', writeResult('decode-floor-h200-2026-12-04-s23', result));
