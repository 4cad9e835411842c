/**
 * Session 24's result file beside its gpu-vs-peers file (call C, report-s24-c.sh): the one-row projection forms
 * measured, from the raw logs in bench/results/raw/s24-call-*:
 * A (s24-a.sh: each 0.5B, 135M and 1.5B projection, fp16, as a plain MatMul and split along K, inside captured
 * replays; whole decodes splitting every projection, the long-K ones, or none), B (s24-b.sh, bundle ff52318: one-row
 * projections as Mul + ReduceSum over [N, K] weights against the split MatMuls), call C's A/B (chains of up to
 * 32 steps against 8, greedy and the Chat's sampling drawn on the device), and D (s24-d.sh, bundle e5b7f31: one row's
 * steps replayed from a one-token graph over shared weights against the any-length graph; its GPU memory).
 *   npx tsx bench/gpu/report-s24.ts COMMIT
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { ab, type J, sections, sectionsOf } from './report-lines.js';

const [commit] = process.argv.slice(2);
const RAW = 'bench/results/raw';
const lines = (file: string) => sections(path.join(RAW, file)).map(({ section, r }) => ({ section: section.replace(/ at \d+( s)?:?/, ''), ...r }) as J);
const a = lines('s24-call-a/a.log');
const b = lines('s24-call-b/b.log');
const c = lines('s24-call-c/graft-d2.log');
// call D's decode lines were cut at 400 characters on the machine: the figures before the cut are kept
const dText = readFileSync(path.join(RAW, 's24-call-d/d.log'), 'utf8');
const dLines = sectionsOf(dText, true);
const d = dLines.map(({ section, r }) => ({ section: section.replace(/ at \d+$/, ''), ...r }) as J);
// the memory runs in order: each one's first-token time (its section's decode line) and the peak nvidia-smi saw after it
const heads = [...dText.matchAll(/^== (.*)$/gm)].map((m) => m[1]);
const peaks = [...dText.matchAll(/^max memory\.used MiB: (\d+)$/gm)].map((m) => Number(m[1]));
const memory = heads.flatMap((h, at) => (h.startsWith('memory GRAFT_ONE_TOKEN=') ? [{ h, at }] : [])).map(({ h, at }, k) => ({
  one_token: h.startsWith('memory GRAFT_ONE_TOKEN=1'),
  max_memory_used_mib: peaks[k] ?? null,
  first_ttft_ms: dLines.find((x) => x.at === at)?.r.first_ttft_ms ?? null,
}));
const models = ['qwen2.5-0.5b', 'smollm2-135m', 'qwen2.5-1.5b'];
const matvec = a.filter((x) => typeof x.matvec === 'string');
// each projection's forms, the plain MatMul (1 slice) first
const byShape = [...new Set(matvec.map((x) => x.matvec as string))].map((shape) => {
  const forms = matvec.filter((x) => x.matvec === shape);
  const plain = forms.find((x) => x.slices === 1);
  const best = forms.reduce((p, x) => (x.us_per_link < p.us_per_link ? x : p));
  return { shape, plain_us: plain?.us_per_link ?? null, plain_gb_s: plain?.weight_gb_s ?? null, best_slices: best.slices, best_us: best.us_per_link, best_gb_s: best.weight_gb_s, forms: forms.map((x) => ({ slices: x.slices, us: x.us_per_link, gb_s: x.weight_gb_s })) };
});
const result = {
  what: "Session 24: the one-row projection forms of the fused fp16 decode graph on the H200 under onnxruntime-node 1.31.1 (whose EP lists a GEMV program): a plain MatMul, split along K (the graph's form), and an elementwise product with a sum over K; and the chains of up to 32 steps with the Chat's sampling drawn on the device.",
  device: 'webgpu: NVIDIA H200 (driver 580.159.04)',
  date: '2026-12-04',
  commit,
  calls: {
    A: 'bench/gpu/s24-a.sh, fresh, 203 s, bundle 7fbb1a7',
    B: 'bench/gpu/s24-b.sh, fresh, 267 s, bundle ff52318 (the Mul + ReduceSum form, removed after this call)',
    C: "AB='chain-sampled-ab qwen2.5-0.5b' bash bench/gpu/decode-all-one-call.sh, fresh, 528 s, bundle 7f36849 (gpu-vs-peers-2026-12-04-s24-c.json)",
    D: 'bench/gpu/s24-d.sh, fresh, 434 s, bundle e5b7f31 (the one-token graph the default there; opt-in since, GRAFT_ONE_TOKEN=1)',
  },
  projections_in_replays_call_A: {
    how: 'gpu-explore matvec-replay: chains of 2 and 8 links x [1, 1, K] → [1, 1, N] (fp16 weights; a Cast each way and a Slice or Pad back to K wide in every link, the same for every form), µs a link from the difference; the widths are the padded stream\'s (0.5B 1,024, 135M 768)',
    rows: byShape,
    reading: "the plain one-row MatMul is the slowest form of every projection (27-436 GB/s of weights): 1.31.1's GEMV program does not take these shapes. Session 20 found such chains do not predict a large MatMul's cost in the whole graph, so the slicing stays as the whole-graph A/Bs chose it.",
  },
  split_in_whole_decodes_call_A: {
    how: 'gpu-explore split-ab (3 rounds alternating in one process, nothing beside): now = every projection split (the default), before = only the long-K, few-workgroup ones (GRAFT_SPLITK_ALL=0), no_split = plain MatMuls (GRAFT_SPLITK=0)',
    ...Object.fromEntries(models.slice(0, 2).map((m) => [m, ab(a.filter((x) => /split-ab/.test(x.section)), m)])),
    reading: 'splitting every projection stays fastest in fp16 under 1.31.1: 0.5B 249.1 tok/s against 220.7 (long-K only) and 125.0 (none); 135M 230.7 against 203.8 and 167.9',
  },
  mul_reducesum_call_B: {
    how: 'gpu-explore rows-ab (3 rounds alternating in one process, nothing beside): now = one-row projections as Mul of x [1, 1, 1, K] with W [N, K] and a ReduceSum over K (GRAFT_ROW_PROJ=1, bundle ff52318), before = split-K MatMuls; 4 rows keep the MatMuls in both arms (a control)',
    ...Object.fromEntries(models.map((m) => [m, ab(b.filter((x) => /rows-ab/.test(x.section)), m)])),
    reading: 'slower where the projections are large: 0.5B 232.7 against 267.9 tok/s, 1.5B 126.8 against 186.5; 135M even (274.5 against 276.1). The product [N, K] is written and read back, three times the weight\'s bytes. Removed.',
  },
  chains_sampled_call_C: {
    how: "gpu-explore chain-sampled-ab qwen2.5-0.5b (3 rounds alternating in one process, under the llama.cpp build's load): now = chains of up to 32 steps (the default), before = 8; greedy, the Chat's sampling drawn on the device, and 4 rows",
    ...ab(c.filter((x) => /chain-sampled-ab/.test(x.section)), 'qwen2.5-0.5b'),
    reading: "the Chat's sampling in chains of up to 32: 190.7 against 189.7 tok/s, within the rounds' spread (176.7-204.1); greedy 219.0 against 214.7, 4 rows 660.5 against 644.1",
  },
  one_token_steps_call_D: {
    how: "gpu-explore one-token-ab (3 rounds alternating in one process, nothing beside): now = one row's captured steps replayed from a one-token graph of static shapes (no split-K input transposes, nor the tied lookup's, and no last-token pick: 98 fewer dispatches a step at 0.5B) over the any-length graph's weights, shared on the device (runtime/shared-weights.ts), before = the any-length graph replaying them; 4 rows replay the any-length graph in both arms (a control)",
    ...Object.fromEntries(models.map((m) => [m, ab(d.filter((x) => /one-token-ab/.test(x.section)), m)])),
    memory_15b_one_row: {
      how: "gpu-explore decode qwen2.5-1.5b with DECODE_QUICK=2 (the base's one row), one process each, alternating one-token and any-length; nvidia-smi's memory.used every 0.2 s, its maximum over the run; the first run started from an empty graph cache",
      runs: memory,
    },
    reading: "one row faster with the one-token graph: 0.5B 250.8 against 239.0 tok/s (+4.9%), 1.5B 190.6 against 180.2 (+5.8%), 135M 268.2 against 218.3 (+23%); the 4-row control spread 616.7 against 684.0 at 0.5B with the same graph in both arms, so the 0.5B and 1.5B gains are within what a round spreads. The first run (one-token, empty graph cache) gave no result within its 60 s and took no GPU memory meanwhile; the later one-token run held 4,852 MiB against 3,569 for the any-length graph's. So the form stays opt-in (GRAFT_ONE_TOKEN=1).",
  },
};
console.log('wrote', writeResult('decode-forms-h200-2026-12-04-s24', result));
