/**
 * Session 22's result file beside its gpu-vs-peers file (call B, report-decode.ts): the A/Bs and the rows with
 * nothing beside, from the raw logs in bench/results/raw/s22-call-*:
 * L (s22-l.sh: fp16 against fp32 by kind of row, and the adapters' products in fp32 inside fp16), S (s22-s.sh: item
 * 2's rows with nothing beside at 1.5B and 135M; split-K in the fp16 graph), W (s22-w.sh: the adapters' split-K
 * against none, the workgroup targets), T (s22-t.sh: the tiled adapter form), with the dispatch counts of
 * bench/decode-dispatches.ts. Every arm of an A/B ran in one process, alternating.
 *   npx tsx bench/gpu/report-s22.ts COMMIT
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { ab, type J, mean, sections } from './report-lines.js';

const [commit] = process.argv.slice(2);
const RAW = 'bench/results/raw';
const lines = (file: string) => sections(path.join(RAW, file)).map(({ section, r }) => ({ section, ...r }) as J);
const strip = ({ section: _s, ...x }: J) => x;
const l = lines('s22-call-l/l.log');
const s = lines('s22-call-s/s.log');
const t = lines('s22-call-t/t.log');
const w = lines('s22-call-w/lorasplit.log');
/** Each (kind of rows, arm)'s mean tok/s a row over the rounds. */
const byArm = (rows: J[], arm: (x: J) => string) => {
  const groups = new Map<string, number[]>();
  for (const x of rows) {
    const key = `${x.model} | ${x.rows} | ${arm(x)}`;
    groups.set(key, [...(groups.get(key) ?? []), x.tok_s_per_row]);
  }
  return Object.fromEntries([...groups].map(([k, v]) => [k, { tok_s_per_row: mean(v), rounds: v }]));
};
// call W's second part: one process per variant (DECODE_QUICK=1), two rounds, lines "== VAR round R" then the figures
const sizes: J[] = [];
let at = '';
for (const line of readFileSync(path.join(RAW, 's22-call-w/splitk-sizes.log'), 'utf8').split('\n')) {
  if (line.startsWith('== ')) at = line.slice(3).replace(/ at \d+$/, '');
  else if (line.includes('greedy_tok_s')) sizes.push({ run: at, ...Object.fromEntries([...line.matchAll(/"(\w+)":([\d.]+)/g)].map((m) => [m[1], Number(m[2])])) });
}
const nothingBeside = s.filter((x) => /^nothing beside/.test(x.section)).map((x) => ({
  model: x.model,
  one_stream: x.greedy_tok_s,
  one_stream_with_an_adapter: x.greedy_1adapter_tok_s,
  base_and_3_adapters_in_all: +(x.greedy_4rows_tok_s_per_row * 4).toFixed(1),
  four_adapters_in_all: +(x.greedy_4adapters_tok_s_per_row * 4).toFixed(1),
  four_adapters_vs_one_stream: +((x.greedy_4adapters_tok_s_per_row * 4) / x.greedy_tok_s).toFixed(2),
  four_adapters_vs_one_stream_with_an_adapter: +((x.greedy_4adapters_tok_s_per_row * 4) / x.greedy_1adapter_tok_s).toFixed(2),
  first_ttft_ms: x.first_ttft_ms,
}));

const result = {
  what: "Session 22's decode A/Bs on the WebGPU EP (captured greedy chains), beside its gpu-vs-peers file: fp16 for adapter rows (now auto's choice), split-K in the fp16 graph, the adapters' split, a tiled adapter form (removed), and item 2's rows with nothing beside",
  device: 'NVIDIA H200, driver 580.159.04 (WebGPU EP, Vulkan), onnxruntime-node 1.30',
  date: '2026-12-04',
  commit,
  peer: "Graft's own other arm, in the same process; llama.cpp's rows are in gpu-vs-peers-2026-12-04-s22-b.json (call B)",
  calls: {
    L: 'bench/gpu/s22-l.sh, fresh, bundle ae09bdd (auto was fp32 for adapter rows), nothing beside, 187 s',
    B: 'bench/gpu/decode-all-one-call.sh, fresh, bundle 1870c67: gpu-vs-peers-2026-12-04-s22-b.json',
    S: 'bench/gpu/s22-s.sh, fresh, bundle 1870c67 (auto fp16 for every row), nothing beside, 229 s',
    V: 'bench/gpu/s22-v.sh, fresh, bundle 1870c67: verify-reference --device gpu, 12/12',
    W: 'bench/gpu/s22-w.sh, the machine V left warm, bundle 1870c67, nothing beside',
    T: 'bench/gpu/s22-t.sh, fresh, bundle 1580aa2 (the tiled adapter form), nothing beside; 1.5B did not run (the call ran out)',
  },
  fp16_by_rows_L: {
    how: 'gpu-explore f16-rows --lora-f32 (at ae09bdd): per-row tok/s, best of 3 after one, fp16 / fp32 / fp16 with the adapters products in fp32, 2 rounds',
    rows: l.filter((x) => x.rows).map(strip),
    reading: 'adapter rows faster in fp16 (0.5B 4 rows 186.5-186.9 against 165.8-167.0 a row; 1.5B 128.7-129.4 against 110.5-111.1); the products in fp32 inside fp16 slower than fp16 (162-163 at 0.5B): auto became fp16 for every row (129ccc3) and the fp32-products switch was removed',
  },
  item2_nothing_beside_S: nothingBeside,
  split_k_in_fp16_S: {
    how: 'gpu-explore split-ab: now = every projection slices fit (the default), before = only the long-K few-workgroup ones (GRAFT_SPLITK_ALL=0), no_split = plain MatMuls (GRAFT_SPLITK=0); 3 rounds',
    rows: [ab(s, 'qwen2.5-0.5b'), ab(s, 'smollm2-135m')],
    reading: 'the default stays: in fp16 as in fp32, splitting every projection is fastest (0.5B 264 against 220 and 124 one row; 4 rows 734 against 637 in all)',
  },
  lora_split_W: { how: 'gpu-explore lorasplit-ab: the adapters x·Aᵀ split along K (now) against one batched MatMul; the one-row arms are the base alone (a control); 3 rounds', rows: [ab(w, 'qwen2.5-0.5b')], reading: '4 rows 733-751 against 416-418 in all: the split stays' },
  split_targets_W: { how: 'one process per variant (DECODE_QUICK=1), two rounds: the workgroups split-K aims at, base (GRAFT_SPLITK) and adapters (GRAFT_LORA_SPLITK)', runs: sizes, reading: 'every variant within the rounds spread: the kernels sizes do not bound these rows' },
  lora_tiled_T: {
    how: "gpu-explore lora-tiled-ab (at 1580aa2): the adapters' delta tiled (x·Aᵀ in runs of K by a broadcast 5-D MatMul, the partials summed by Bᵀ stacked S times: 5-6 dispatches fewer a layer) against split-K's form; 3 rounds",
    means: byArm(t.filter((x) => x.rows), (x) => x.arm),
    reading: 'twice as slow with adapters (one adapter row 90.2 against 189.2), the base alone unchanged: fewer dispatches, a far slower kernel. Removed (ccda991). Not profiled: no device time was left',
  },
  dispatches: { source: 'bench/results/decode-dispatches-2026-12-04.json (npx tsx bench/decode-dispatches.ts)', rows: (JSON.parse(readFileSync('bench/results/decode-dispatches-2026-12-04.json', 'utf8')) as J).rows.map((r: J) => ({ shape: r.shape, rows: r.rows, per_step: r.per_step, per_layer: r.per_layer })) },
};
console.log('wrote', writeResult('decode-forms-h200-2026-12-04-s22', result));
