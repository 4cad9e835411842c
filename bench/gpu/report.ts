/**
 * Assembles bench/results/gpu-vs-peers-<date>.json from the files phase A and phase B bring back:
 * Graft's JSON lines (graft-a.log, graft-b.log) and the peers' output (peers.log: llama-bench JSON,
 * llama-batched-bench tables, PyTorch + PEFT's anchor JSON), all from the same machine.
 *   npx tsx bench/gpu/report.ts DIR_A DIR_B COMMIT [NAME_SUFFIX]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';

type J = Record<string, any>;

function jsonLines(file: string): J[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as J);
}

/** The JSON arrays and objects printed in a log (llama-bench's array, the anchor's array). */
function jsonBlocks(text: string): J[][] {
  const out: J[][] = [];
  const re = /^\[\s*$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const end = text.indexOf('\n]', m.index);
    if (end < 0) break;
    try {
      out.push(JSON.parse(text.slice(m.index, end + 2)) as J[]);
    } catch {
      // not a block of ours
    }
  }
  return out;
}

const [dirA, dirB, commit, suffix = ''] = process.argv.slice(2);
const a = jsonLines(path.join(dirA, 'graft-a.log'));
const bLog = path.join(dirB, 'graft-b.log');
const b = jsonLines(bLog);
const peersText = readFileSync(path.join(dirB, 'peers.log'), 'utf8');
const blocks = jsonBlocks(peersText);
// llama-bench prints one array per call (F16 models, then Q4_K_M ones with DECODE_ONLY)
const llama = blocks.filter((x) => x.some((r) => 'n_gen' in r)).flat();
const peft = blocks.find((x) => x.some((r) => 'train_tok_s' in r)) ?? [];
const device = peersText.split('\n')[0];

const llamaTg = (sizeGb: RegExp) => llama.find((r) => r.n_gen === 128 && sizeGb.test(String(r.model_filename ?? r.model_type)))?.avg_ts as number | undefined;
const batched = (name: string, npl: number) => {
  // llama-batched-bench's tables follow in order smol135m, qwen05b; each has the 1- and 4-sequence rows.
  const rows = peersText.split('\n').filter((l) => /^\|\s+32 \|\s+64 \|/.test(l));
  const idx = (name === 'smol135m' ? 0 : 2) + (npl === 4 ? 1 : 0);
  const cols = rows[idx]?.split('|').map((c) => c.trim());
  return cols ? Number(cols[8]) : undefined; // S_TG t/s: aggregate decode speed
};
const ratio = (g?: number, p?: number) => (g && p ? +(g / p).toFixed(3) : null);
const dec = (name: string) => b.find((r) => r.model === name && 'greedy_tok_s' in r);
const rows: J[] = [];
for (const [name, file] of [['smollm2-135m', /smol135m-f16/], ['qwen2.5-0.5b', /qwen05b-f16/], ['qwen2.5-1.5b', /qwen15b-f16/]] as const) {
  const g = dec(name);
  const p = llamaTg(file);
  rows.push({ work: 'decode, 1 stream, greedy', shape: name, graft: g?.greedy_tok_s, peer: p, peer_name: 'llama.cpp CUDA F16 llama-bench tg128', ratio: ratio(g?.greedy_tok_s, p) });
  rows.push({ work: 'decode, 1 stream, sampled (logits read back)', shape: name, graft: g?.sampled_tok_s, peer: p, peer_name: 'llama.cpp CUDA F16 llama-bench tg128', ratio: ratio(g?.sampled_tok_s, p) });
  // The same process's greedy decode with a read after every step, then also with new caches every step
  // (the path before the chained, in-place decode), when the call measured them (bench/gpu-explore.ts DECODE_AB).
  if (g && 'greedy_read_each_step_tok_s' in g) {
    rows.push({ work: 'decode, 1 stream, greedy, ids read back after every step', shape: name, graft: g.greedy_read_each_step_tok_s, peer: p, peer_name: 'llama.cpp CUDA F16 llama-bench tg128', ratio: ratio(g.greedy_read_each_step_tok_s, p) });
    rows.push({ work: 'decode, 1 stream, greedy, read after every step and new KV caches every step (before this change)', shape: name, graft: g.greedy_read_each_step_caches_copied_tok_s, peer: p, peer_name: 'llama.cpp CUDA F16 llama-bench tg128', ratio: ratio(g.greedy_read_each_step_caches_copied_tok_s, p) });
  }
  if (name !== 'qwen2.5-1.5b') {
    const four = g ? +(g.greedy_4rows_tok_s_per_row * 4).toFixed(1) : undefined;
    const p4 = batched(name === 'smollm2-135m' ? 'smol135m' : 'qwen05b', 4);
    rows.push({ work: '4 rows side by side (base + 3 different adapters), tokens/s in all', shape: name, graft: four, peer: p4, peer_name: 'llama.cpp CUDA F16 llama-batched-bench, 4 sequences of one model (S_TG)', ratio: ratio(four, p4), graft_vs_own_single: ratio(four, g?.greedy_tok_s) });
    if (g && 'greedy_4rows_read_each_step_caches_copied_tok_s_per_row' in g) {
      const before = +(g.greedy_4rows_read_each_step_caches_copied_tok_s_per_row * 4).toFixed(1);
      rows.push({ work: '4 rows side by side, tokens/s in all, before this change (read after every step, new KV caches every step)', shape: name, graft: before, peer: p4, peer_name: 'llama.cpp CUDA F16 llama-batched-bench, 4 sequences of one model (S_TG)', ratio: ratio(before, p4), graft_vs_own_single: ratio(before, g.greedy_read_each_step_caches_copied_tok_s) });
    }
  }
}
// Decode on a 4-bit base (bench/packed-decode.ts) beside llama.cpp's Q4_K_M of the same shapes.
for (const [name, file] of [['qwen2.5-0.5b', /qwen05b-q4_k_m/], ['qwen2.5-1.5b', /qwen15b-q4_k_m/], ['llama3.1-8b', /llama8b-q4_k_m/]] as const) {
  const g = b.find((r) => r.model === name && String(r.base ?? '').startsWith('int4'));
  const p = llamaTg(file);
  if (g || p) rows.push({ work: 'decode, 1 stream, greedy, 4-bit base', shape: name, graft: g?.greedy_tok_s, peer: p, peer_name: 'llama.cpp CUDA Q4_K_M llama-bench tg128', ratio: ratio(g?.greedy_tok_s, p), graft_base: g?.base, graft_weight_gb: g?.weight_gb, first_64_tokens_ms: g?.first_generation_ms });
}
const cold = (name: string) => a.find((r) => r.model === name && 'first_generation_ms' in r);
// A second process of call A, or else call B's first (both with the graph cache call A filled).
const warm = (name: string) => a.filter((r) => r.model === name && 'first_generation_ms' in r)[1] ?? b.find((r) => r.model === name && 'first_generation_ms' in r && !('base' in r));
for (const name of ['qwen2.5-0.5b', 'qwen2.5-1.5b']) {
  rows.push({ work: 'first token after loading, empty graph cache (first time), ms', shape: name, graft: cold(name)?.first_ttft_ms, peer: null, peer_name: null, ratio: null, first_64_tokens_ms: cold(name)?.first_generation_ms, sessions: cold(name)?.sessions });
  rows.push({ work: 'first token after loading, new process, warm graph cache (second time), ms', shape: name, graft: warm(name)?.first_ttft_ms, peer: null, peer_name: null, ratio: null, first_64_tokens_ms: warm(name)?.first_generation_ms, sessions: warm(name)?.sessions });
}
const steps = b.filter((r) => 'train_tokens_per_s' in r);
for (const s of steps) {
  const p = peft.find((r) => r.model === s.model && r.bs === s.batch && r.seq === s.seq);
  rows.push({ work: `training step ${s.batch}x${s.seq}, LoRA r16 all 7 targets, ${s.precision}`, shape: s.model, graft: s.train_tokens_per_s, peer: p?.train_tok_s, peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16', ratio: ratio(s.train_tokens_per_s, p?.train_tok_s), step_ms: s.step_ms_median, first_step_ms: s.first_step_ms });
}
const coldStep = a.find((r) => 'train_tokens_per_s' in r);
if (coldStep) rows.push({ work: 'from loading to the end of the first training step, empty graph cache, ms', shape: coldStep.model, graft: coldStep.load_ms + coldStep.first_step_ms, peer: null, peer_name: null, ratio: null, sessions: coldStep.sessions_created });
const validated = b.find((r) => r.model === 'smollm2-135m' && 'greedy_tok_s' in r && r !== dec('smollm2-135m'));
if (validated) rows.push({ work: 'decode, 1 stream, greedy, WebGPU validation and robustness on (the previous default)', shape: 'smollm2-135m', graft: validated.greedy_tok_s, peer: dec('smollm2-135m')?.greedy_tok_s, peer_name: 'Graft with validation off (this commit)', ratio: ratio(validated.greedy_tok_s, dec('smollm2-135m')?.greedy_tok_s) });
const result = {
  what: 'Graft (WebGPU EP, onnxruntime-node 1.30) against llama.cpp (CUDA build of node-llama-cpp 3.22.1 source) and PyTorch 2.11 + PEFT 0.21 on one GPU; random-init models of real shapes; peers and the Graft rows with a ratio measured in the same device call (phase B); start-up rows from phase A on the same machine just before.',
  device,
  date: new Date().toISOString(),
  commit,
  rows,
  graft_raw: { phase_a: a, phase_b: b },
  peers_raw: { llama_bench: llama, pytorch_peft: peft },
  notes: ['What bounds each row, with the profile and the arithmetic: docs/gpu-speed.md.', process.env.REPORT_NOTE].filter(Boolean).join(' '),
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}${suffix}`, result));
