/**
 * bench/results/gpu-vs-peers-<date>-s10.json from calls s10-b and s10-c (one warm machine, back to back):
 * Graft's decode now (split-K projections; ORT's fused 4-bit ops on a 4-bit base) and before (GRAFT_SPLITK=0,
 * GRAFT_NBITS_FUSION=0), each beside llama.cpp (F16, Q4_K_M, 4 sequences), and the GPU profile of the 0.5B decode.
 *   npx tsx bench/gpu/report-s10.ts DIR_B DIR_C COMMIT
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { type J, sections } from './report-lines.js';

const [dirB, dirC, commit] = process.argv.slice(2);


function llamaBench(text: string): J[] {
  const out: J[] = [];
  for (const m of text.matchAll(/^\[\s*$[\s\S]*?^\]/gm)) {
    try {
      out.push(...(JSON.parse(m[0]) as J[]));
    } catch {
      // not llama-bench's
    }
  }
  return out;
}

const g = sections(path.join(dirB, 'graft-b.log'));
const peersB = readFileSync(path.join(dirB, 'peers.log'), 'utf8');
const peersC = existsSync(path.join(dirC, 'peers.log')) ? readFileSync(path.join(dirC, 'peers.log'), 'utf8') : '';
const f16C = existsSync(path.join(dirC, 'peers.log.f16')) ? readFileSync(path.join(dirC, 'peers.log.f16'), 'utf8') : '';
const llama = [...llamaBench(peersB), ...llamaBench(peersC), ...llamaBench(f16C)];
const tg = (file: RegExp) => {
  const runs = llama.filter((r) => r.n_gen === 128 && file.test(String(r.model_filename)));
  return runs.length ? { tok_s: +Math.max(...runs.map((r) => r.avg_ts)).toFixed(1), runs: runs.map((r) => +r.avg_ts.toFixed(1)) } : undefined;
};
const batched = (idx: number) => {
  const rows = peersC.split('\n').filter((l) => /^\|\s+32 \|\s+64 \|/.test(l));
  const cols = rows[idx]?.split('|').map((c) => c.trim());
  return cols ? Number(cols[8]) : undefined;
};
const find = (sec: RegExp, model: string, packed = false) => g.find((x) => sec.test(x.section) && x.r.model === model && 'greedy_tok_s' in x.r && !!x.r.base === packed)?.r;
const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(3) : null);
const rows: J[] = [];
const F16 = 'llama.cpp CUDA F16 llama-bench tg128 (best of the two calls)';
for (const [name, file, bIdx] of [['smollm2-135m', /smol135m-f16/, 1], ['qwen2.5-0.5b', /qwen05b-f16/, 3], ['qwen2.5-1.5b', /qwen15b-f16/, -1]] as const) {
  const now = find(/^now/, name);
  const before = find(/^before/, name);
  const p = tg(file);
  rows.push({ work: 'decode, 1 stream, greedy (split-K projections)', shape: name, graft: now?.greedy_tok_s, peer: p?.tok_s, peer_runs: p?.runs, peer_name: F16, ratio: ratio(now?.greedy_tok_s, p?.tok_s) });
  rows.push({ work: 'decode, 1 stream, greedy, plain MatMuls (before; GRAFT_SPLITK=0, same call)', shape: name, graft: before?.greedy_tok_s, peer: p?.tok_s, peer_name: F16, ratio: ratio(before?.greedy_tok_s, p?.tok_s) });
  rows.push({ work: 'decode, 1 stream, sampled at temperature 0.8 (logits read back)', shape: name, graft: now?.sampled_tok_s, peer: p?.tok_s, peer_name: F16, ratio: ratio(now?.sampled_tok_s, p?.tok_s) });
  rows.push({ work: "decode, 1 stream, the Chat's sampling (top-k 40, top-p 0.95, min-p 0.05, penalty 1.1)", shape: name, graft: now?.chat_sampled_tok_s, peer: p?.tok_s, peer_name: F16, ratio: ratio(now?.chat_sampled_tok_s, p?.tok_s) });
  const four = now ? +(now.greedy_4rows_tok_s_per_row * 4).toFixed(1) : undefined;
  const fourBefore = before ? +(before.greedy_4rows_tok_s_per_row * 4).toFixed(1) : undefined;
  const p4 = bIdx > 0 ? batched(bIdx) : undefined;
  rows.push({ work: '4 rows side by side (base + 3 different adapters), tokens/s in all', shape: name, graft: four, graft_before: fourBefore, peer: p4, peer_name: 'llama.cpp CUDA F16 llama-batched-bench, 4 sequences (S_TG)', ratio: ratio(four, p4), graft_vs_own_single: ratio(four, now?.greedy_tok_s) });
  rows.push({ work: 'first token after loading, empty graph cache (first time), ms', shape: name, graft: now?.first_ttft_ms, first_64_tokens_ms: now?.first_generation_ms, sessions: now?.sessions });
}
for (const [name, file] of [['qwen2.5-0.5b', /qwen05b-q4_k_m/], ['qwen2.5-1.5b', /qwen15b-q4_k_m/], ['llama3.1-8b', /llama8b-q4_k_m/]] as const) {
  const now = find(/fused ops \(now\)/, name, true);
  const before = find(/fused ops off/, name, true);
  const p = tg(file);
  rows.push({ work: "decode, 1 stream, greedy, 4-bit base (symmetric int4, ORT's fused 4-bit decode ops)", shape: name, graft: now?.greedy_tok_s, graft_before_fused_ops: before?.greedy_tok_s, peer: p?.tok_s, peer_runs: p?.runs, peer_name: 'llama.cpp CUDA Q4_K_M llama-bench tg128', ratio: ratio(now?.greedy_tok_s, p?.tok_s), graft_weight_gb: now?.weight_gb, first_64_tokens_ms: now?.first_generation_ms });
}
const prof = path.join(dirB, 'prof');
const profiles = existsSync(prof) ? Object.fromEntries(readdirSync(prof).filter((f) => f.endsWith('.summary')).map((f) => [f, JSON.parse(readFileSync(path.join(prof, f), 'utf8'))])) : {};
const result = {
  what: "Graft (WebGPU EP, onnxruntime-node 1.30) against llama.cpp (CUDA build of node-llama-cpp 3.22.1's source) on one H200, two back-to-back device calls on one warm machine (s10-b: Graft's rows, llama.cpp's build and models in the background, F16 tg128; s10-c: Q4_K_M, batched, F16 again); random-init models of real shapes.",
  device: peersB.split('\n')[0],
  date: new Date().toISOString(),
  commit,
  rows,
  profiles_gpu_timestamps: profiles,
  graft_raw: g.map((x) => ({ section: x.section, ...x.r })),
  peers_raw: { llama_bench: llama },
  notes: ['What bounds each row: docs/gpu-speed.md, eighth pass.', process.env.REPORT_NOTE].filter(Boolean).join(' '),
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}-s10`, result));
