/**
 * bench/results/gpu-vs-peers-<date>-s11.json (issue 12) from calls s11-d1 and s11-d2 (one warm machine, back
 * to back). D2 holds the rows: llama.cpp's llama-bench (F16, Q4_K_M) and Graft's decode in the same call, with
 * nothing else running; D1 gives llama.cpp's 4 sequences (llama-batched-bench, run after its build) and the
 * one A/B that finished under the build's load (ORT's fused 4-bit MLP op against none).
 *   npx tsx bench/gpu/report-s11.ts DIR_D1 DIR_D2 COMMIT (also for decode-vs-llamacpp-a.sh / -b.sh's folders)
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { type J, sections } from './report-lines.js';

const [d1, d2, commit] = process.argv.slice(2);


/** llama-bench's JSON array; a run cut short (a model it could not load) leaves it unclosed: read what is whole. */
function llamaBench(file: string): J[] {
  const text = readFileSync(file, 'utf8').trim();
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(`${text.slice(0, text.lastIndexOf('}') + 1)}]`);
  }
}

const g = sections(path.join(d2, 'graft-d2.log'));
const ab = sections(path.join(d1, 'ab.log'));
// decode-vs-llamacpp-b.sh benches the 8B Q4_K_M on its own, once its file is whole
const llama = [path.join(d2, 'llama-bench.json'), path.join(d2, 'llama-bench-8b.json')].filter((f) => existsSync(f)).flatMap(llamaBench);
const peersD1 = readFileSync(path.join(d1, 'peers.log'), 'utf8');
const tg = (file: RegExp) => llama.find((r) => r.n_gen === 128 && file.test(String(r.model_filename)));
/** S_TG of llama-batched-bench's rows with 4 sequences, in the order run (135M, then 0.5B). */
const batched4 = peersD1.split('\n').filter((l) => /^\|\s+32 \|\s+64 \|\s+4 \|/.test(l)).map((l) => Number(l.split('|')[8].trim()));
const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(3) : null);
const find = (sec: RegExp, model: string) => g.find((x) => sec.test(x.section) && x.r.model === model)?.r;

const rows: J[] = [];
const F16 = 'llama.cpp CUDA F16 llama-bench tg128, same call (D2)';
for (const [name, file, b4] of [['smollm2-135m', /smol135m-f16/, 0], ['qwen2.5-0.5b', /qwen05b-f16/, 1], ['qwen2.5-1.5b', /qwen15b-f16/, -1]] as const) {
  const first = find(/^first start/, name);
  const second = find(/^second start/, name);
  const p = tg(file);
  const peer = p ? +p.avg_ts.toFixed(1) : undefined;
  rows.push({ work: 'decode, 1 stream, greedy (fp32 base; split-K down projections where they pay)', shape: name, graft: first?.greedy_tok_s, graft_second_process: second?.greedy_tok_s, peer, peer_stddev: p && +p.stddev_ts.toFixed(1), peer_name: F16, ratio: ratio(first?.greedy_tok_s, peer) });
  rows.push({ work: 'decode, 1 stream, sampled at temperature 0.8 (logits read back)', shape: name, graft: first?.sampled_tok_s, peer, peer_name: F16, ratio: ratio(first?.sampled_tok_s, peer) });
  rows.push({ work: "decode, 1 stream, the Chat's sampling (top-k 40, top-p 0.95, min-p 0.05, penalty 1.1)", shape: name, graft: first?.chat_sampled_tok_s, peer, peer_name: F16, ratio: ratio(first?.chat_sampled_tok_s, peer) });
  const four = first && +(first.greedy_4rows_tok_s_per_row * 4).toFixed(1);
  const fourSecond = second && +(second.greedy_4rows_tok_s_per_row * 4).toFixed(1);
  const p4 = b4 >= 0 ? batched4[b4] : undefined;
  rows.push({ work: '4 rows side by side (base + 3 different adapters), tokens/s in all', shape: name, graft: four, graft_second_process: fourSecond, peer: p4, peer_name: 'llama.cpp CUDA F16 llama-batched-bench, 4 sequences (S_TG), call D1 (same machine, the call before)', ratio: ratio(four, p4), graft_vs_own_single: ratio(four, first?.greedy_tok_s), graft_second_process_vs_own_single: ratio(fourSecond, second?.greedy_tok_s) });
  rows.push({ work: 'first token after loading, empty graph cache (first time), ms', shape: name, graft: first?.first_ttft_ms, first_64_tokens_ms: first?.first_generation_ms, sessions: first?.sessions });
  rows.push({ work: 'first token after loading, second time (new process, graph cache filled), ms', shape: name, graft: second?.first_ttft_ms, first_64_tokens_ms: second?.first_generation_ms, sessions: second?.sessions });
}
for (const [name, file] of [['qwen2.5-0.5b', /qwen05b-q4_k_m/], ['qwen2.5-1.5b', /qwen15b-q4_k_m/], ['llama3.1-8b', /llama8b-q4_k_m/]] as const) {
  const r = g.find((x) => /4-bit/.test(x.section) && x.r.model === name)?.r;
  const p = tg(file);
  const peer = p ? +p.avg_ts.toFixed(1) : undefined;
  rows.push({ work: "decode, 1 stream, greedy, 4-bit base (symmetric int4, ORT's fused 4-bit MLP op)", shape: name, graft: r?.greedy_tok_s, peer: peer ?? null, peer_name: 'llama.cpp CUDA Q4_K_M llama-bench tg128, same call (D2)', ratio: ratio(r?.greedy_tok_s, peer), graft_weight_gb: r?.weight_gb, first_64_tokens_ms: r?.first_generation_ms, ...(peer ? {} : { peer_missing: "llama-bench stopped at this model: its Q4_K_M file was still being written by the background quantizer when the bench began (the JSON ends after the 1.5B rows)" }) });
}
const fused = ab.find((x) => x.r.packed && x.r.model === 'qwen2.5-0.5b')?.r;
const result = {
  what: "Graft (WebGPU EP, onnxruntime-node 1.30) against llama.cpp (CUDA build of node-llama-cpp 3.22.1's source) on one H200; two back-to-back device calls on one warm machine (s11-d1: llama.cpp's build and models in the background, the A/B pairs, then llama-batched-bench; s11-d2: llama-bench F16 and Q4_K_M, then Graft's decode with nothing else running); random-init models of real shapes.",
  device: readFileSync(path.join(d2, 'peers2.log'), 'utf8').split('\n')[0],
  date: new Date().toISOString(),
  commit,
  rows,
  ab_d1_under_build_load: { fused_4bit_mlp_op_qwen2_5_0_5b: fused, note: "alternating in one process while llama.cpp compiled and the 8B model was converted beside it: greedy tok/s with ORT's MatMulNBitsMlp (now), without (before), and with MatMulNBitsQkv too (qkv_too). The split-K A/B runs (decode-ab) passed their timeouts under that load and printed nothing." },
  graft_raw: g.map((x) => ({ section: x.section, ...x.r })),
  peers_raw: { llama_bench: llama, llama_batched_bench_d1: peersD1.split('\n').filter((l) => l.startsWith('|')) },
  notes: ["What bounds each row: docs/gpu-speed.md, ninth pass. The GPU-timestamp profile of this decode graph is session 10's (bench/results/gpu-vs-peers-2026-12-03-s10.json, profiles_gpu_timestamps): no profile ran in these calls.", process.env.REPORT_NOTE].filter(Boolean).join(' '),
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}-s11`, result));
