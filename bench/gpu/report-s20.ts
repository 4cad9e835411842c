/**
 * Session 20's result files, from its device calls (raw logs in bench/results/raw/s20-call-*):
 * - bench/results/decode-replay-costs-h200-2026-12-04.json: what a captured decode step's parts cost inside a replay.
 *   A (s20-a.sh: bench/op-floors.ts, and timing-only ablations of the fused graph, bench/gpu/s20-ablate.patch),
 *   M (s20-m.sh: bench/matvec-replay.ts), S (s20-s.sh: a slicing those chains favoured, against the graph's, in the
 *   whole graph; reverted), P (s20-p.sh: whole models at the padded widths against the real ones);
 * - bench/results/gpu-vs-peers-2026-12-04-s20-b.json (report-decode.ts wrote it from call B) gains the op-by-op
 *   profiles (session 18's call P, the graph before this session's padding), call A's replay costs in short, and
 *   call H (s20-h.sh: nothing beside, the padded stream's A/B at 135M and item 2's rows).
 *   npx tsx bench/gpu/report-s20.ts COMMIT
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { ab, sections } from './report-lines.js';

const [commit] = process.argv.slice(2);
const RAW = 'bench/results/raw';
type Row = Record<string, unknown>;
/** The JSON lines of a log (report-lines.ts, sections), each with its section and without the bulky fields. */
function rows(file: string): (Row & { section: string })[] {
  return sections(path.join(RAW, file)).map(({ section, r }) => {
    const { sessions: _s, rounds: _r, ...rest } = r as Row;
    return { section, ...rest };
  });
}
const a = rows('s20-call-a/a.log');
const floors = a.filter((r) => 'op_floor' in r).map(({ section: _s, ...r }) => r);
const ablations = ['qwen2.5-0.5b', 'smollm2-135m', 'qwen2.5-1.5b'].map((m) => ({ arms: { now: 'GRAFT_ABLATE=norm', before: 'as built', ablate_xt: 'GRAFT_ABLATE=xt' }, ...ab(a.filter((r) => r.section.startsWith('ablate norm')), m) }));
ablations.push({ arms: { now: 'GRAFT_ABLATE=bias', before: 'as built', ablate_xt: 'GRAFT_ABLATE=norm,xt,bias (the third arm)' }, ...ab(a.filter((r) => r.section.startsWith('ablate bias')), 'qwen2.5-0.5b') });
const m = rows('s20-call-m/m.log').map(({ section: _s, ...r }) => r);
const s = rows('s20-call-s/s.log');
const p = rows('s20-call-p/p.log').map(({ section: _s, ...r }) => r);
const h = rows('s20-call-h/h.log');

const costs = {
  what: "What a captured fused decode step's parts cost inside a replay of the WebGPU EP (ORT's profiler sees no replays, and its GPU timestamps inflate small kernels).",
  device: 'NVIDIA H200, driver 580.159.04 (WebGPU EP, Vulkan), onnxruntime-node 1.30',
  date: '2026-12-04',
  commit,
  calls: {
    A: 'bench/gpu/s20-a.sh, fresh, bundle 57f89c5 with bench/gpu/s20-ablate.patch (GRAFT_ABLATE; timing only: the graph computes wrong values), nothing beside',
    M: 'bench/gpu/s20-m.sh, fresh, bundle 57f89c5, nothing beside',
    S: 'bench/gpu/s20-s.sh, fresh, bundle 75282ee (the slicing M favoured; reverted by 756fc82), nothing beside',
    P: 'bench/gpu/s20-p.sh, fresh, bundle 756fc82, nothing beside',
  },
  op_floors_A: {
    how: 'bench/op-floors.ts: graphs of 16 and 112 dependent ops of one kind and shape; µs an op = the difference of their replays over the 96 ops added (best of 3 rounds of 100 replays). shape [rows, 1, width]; the transpose with a symbolic token axis, as in the decode graph.',
    rows: floors,
  },
  ablations_A: {
    how: "gpu-explore ablate-ab ON THIRD MODEL (decodeAb: greedy tok/s, best of 3 a round, one row, and 4 rows in all, 3 rounds alternating in one process). norm: each SkipSimplifiedLayerNormalization an Add (its sum); xt: the split-K inputs' Transpose a Reshape (exact at one row only); bias: the qkv bias Add left out.",
    models: ablations,
  },
  matvec_replay_M: {
    how: 'bench/matvec-replay.ts: chains of 2 and 8 links x [1, T, K] → [1, T, N] (the decode graph\'s forms) then back to K wide (a Slice or Pad); µs a link from the difference. The head rows share one weight across links (over 100 MB), and their 2-link replays ran slow, so their differences are unreliable; their 8-link replays over 8 bound them.',
    rows: m,
  },
  slicing_in_the_whole_graph_S: {
    how: "gpu-explore slices-ab (at 75282ee): a wide projection split only into slices of >= 256 inputs (0.5B gate+up 2 slices, not 4) and the LM head in 4 slices, against the graph's slicing (GRAFT_SPLITK_WIDE_MIN=32, GRAFT_HEAD_SLICES=8,4,2); third arm: the head in 8 only. M's chains had favoured it; the whole graph did not move, so it was reverted.",
    models: ['qwen2.5-0.5b', 'smollm2-135m', 'qwen2.5-1.5b'].map((x) => ab(s, x)),
  },
  padded_width_proxy_P: {
    how: 'Whole random models at the padded widths (0.5B shapes at 1,024 wide, 16 heads of 64; 135M at 768, 12 heads of 64) against the real ones, one process each, alternating (gpu-explore decode, DECODE_QUICK). They carry more weights than the padded graphs do (q/k/v, attention, the LM head at the wider width), and still decode faster.',
    rows: p,
  },
};
console.log('wrote', writeResult('decode-replay-costs-h200-2026-12-04', costs));

const peersFile = 'bench/results/gpu-vs-peers-2026-12-04-s20-b.json';
const peers = JSON.parse(readFileSync(peersFile, 'utf8')) as Row;
const s19 = JSON.parse(readFileSync('bench/results/gpu-vs-peers-2026-12-04-s19-b.json', 'utf8')) as Row;
const decodeH = h.filter((r) => r.section.startsWith('decode ')).map(({ section: _s, ...r }) => ({ ...r, greedy_4rows_in_all: +(4 * (r.greedy_4rows_tok_s_per_row as number)).toFixed(1), ratio_4rows_to_one: +((4 * (r.greedy_4rows_tok_s_per_row as number)) / (r.greedy_tok_s as number)).toFixed(2) }));
Object.assign(peers, {
  ab_b_note: "ab_b_under_build_load is gpu-explore pad-ab: 'now' the padded stream (the default), 'before' GRAFT_PAD_STREAM=0, under llama.cpp's build (pinned to other cores).",
  verify_reference_gpu: null,
  verify_reference_note: "Not run in this session's calls: verify-reference checks the training and forward graphs against the goldens, none of which this session changed (the fused decode graph is checked against the plain one in tests instead: test/engine/infer/stream-pad.test.ts and the fused/capture tests on lavapipe). Session 19's call C passed 12/12 at 6daf877.",
  replay_costs: {
    file: 'bench/results/decode-replay-costs-h200-2026-12-04.json',
    summary:
      "Call A, inside replays (0.5B one row, before the padding): an Add, QuickGelu or the one-row transpose ~3 µs; SkipSimplifiedLayerNormalization 13.9 µs at 896 wide, 8.3 at 576, 3.2 at 1,024, 3.9 at 768, 3.5 at 1,536. Ablations of the whole graph: the norms as Adds +14% at 0.5B (+10% at 135M, +2% at 1.5B), the transposes as Reshapes +5–6%, the qkv bias left out +1.5%, all three +27% at 0.5B.",
  },
  dispatches_note: 'The padded graph adds 2 dispatches a step to the counts in profiles (the embedding Pad, the Slice before the LM head): 0.5B one row ~528.',
  profiles: { ...(s19.profiles as Row), note_s20: 'As in the s19-b file: session 18 call P, op by op, the decode graphs before this session\'s padding (norms at 896 wide).' },
  nothing_beside_call_h: {
    how: 'bench/gpu/s20-h.sh, fresh, bundle b8d12f1 (the same graph as call B), nothing beside: gpu-explore pad-ab smollm2-135m, then the greedy rows (DECODE_QUICK) at 0.5B and 1.5B.',
    pad_ab_135m: ab(h.filter((r) => r.section.startsWith('pad-ab')), 'smollm2-135m'),
    decode: decodeH,
  },
});
console.log('wrote', writeResult('gpu-vs-peers-2026-12-04-s20-b', peers));
