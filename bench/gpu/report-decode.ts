/**
 * bench/results/gpu-vs-peers-<date><REPORT_SUFFIX>.json (issue 12) from the decode device calls:
 * - A (s11-d1.sh, decode-vs-llamacpp-a.sh): llama.cpp's 4 sequences (llama-batched-bench, peers.log) and the
 *   A/B pairs run in one process each under llama.cpp's build (ab.log);
 * - B (s11-d2.sh, decode-vs-llamacpp-b.sh, s12-x.sh): the rows, llama.cpp's llama-bench and Graft's decode in
 *   the same call with nothing else running (graft-d2.log, llama-bench.json, peers2.log, verify-gpu.jsonl);
 * - C, optional (s12-y.sh): the 4-bit base rows and the 8B Q4_K_M peer when a later call ran them
 *   (graft-packed.log, llama-bench-8b.json).
 *   npx tsx bench/gpu/report-decode.ts DIR_A DIR_B[,DIR_B2] COMMIT [DIR_C]   (REPORT_B_CALLS=B,B2 names the B calls)
 * Session 11's file: REPORT_SUFFIX=-s11 REPORT_CALLS=D1,D2 npx tsx bench/gpu/report-decode.ts D1 D2 COMMIT
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { type J, llamaBench, sections } from './report-lines.js';

const [d1, d2, commit, d3] = process.argv.slice(2);
const [callA, callB, callC] = (process.env.REPORT_CALLS ?? 'D1,D2,D3').split(',');
const packedDir = d3 ?? d2.split(',')[0];


// DIR_B may name several calls (DIR,DIR; their names in REPORT_B_CALLS): each row takes the first call that has
// it, and its llama.cpp figure from that same call.
const bDirs = d2.split(',');
const bCalls = (process.env.REPORT_B_CALLS ?? callB).split(',');
const g = [
  ...bDirs.flatMap((dir, i) => sections(path.join(dir, 'graft-d2.log')).map((x) => ({ ...x, call: bCalls[i] ?? callB }))),
  ...(d3 ? sections(path.join(d3, 'graft-packed.log')).map((x) => ({ ...x, call: callC })) : []),
];
// a one-call run (decode-one-call.sh) has no A/B pairs
// decode-all-one-call.sh logs its A/B in graft-d2.log, under a section named '<what>-ab ...'
const ab = existsSync(path.join(d1, 'ab.log')) ? sections(path.join(d1, 'ab.log')) : sections(path.join(d1, 'graft-d2.log')).filter((x) => /^[\w-]+-ab /.test(x.section));
// decode-vs-llamacpp-b.sh benches the 8B Q4_K_M on its own, once its file is whole
const llamaOf = (dir: string, call: string) =>
  [path.join(dir, 'llama-bench.json'), path.join(dir, 'llama-bench-8b.json')].filter((f) => existsSync(f)).flatMap((f) => llamaBench(f).map((r): J => ({ ...r, call })));
const llama = [...bDirs.flatMap((dir, i) => llamaOf(dir, bCalls[i] ?? callB)), ...(d3 ? llamaOf(d3, callC) : [])];
const peersD1 = readFileSync(path.join(d1, 'peers.log'), 'utf8');
const tg = (file: RegExp, call: string | undefined) => llama.find((r) => r.n_gen === 128 && r.call === call && file.test(String(r.model_filename)));
/** S_TG of llama-batched-bench's rows with 4 sequences, in the order run (135M, then 0.5B). */
const batched4 = peersD1.split('\n').filter((l) => /^\|\s+32 \|\s+64 \|\s+4 \|/.test(l)).map((l) => Number(l.split('|')[8].trim()));
const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(3) : null);
const found = (sec: RegExp, model: string) => g.find((x) => sec.test(x.section) && x.r.model === model);
const find = (sec: RegExp, model: string) => found(sec, model)?.r;

/** FILE#KEY: that key of a result file, with where it came from. */
function profileFrom(ref: string): J {
  const [file, key] = ref.split('#');
  return { source: ref, ...(JSON.parse(readFileSync(file, 'utf8')) as J)[key] };
}

const rows: J[] = [];
for (const [name, file, b4] of [['smollm2-135m', /smol135m-f16/, 0], ['qwen2.5-0.5b', /qwen05b-f16/, 1], ['qwen2.5-1.5b', /qwen15b-f16/, -1]] as const) {
  const at = found(/^first start/, name)?.call ?? callB;
  const F16 = `llama.cpp CUDA F16 llama-bench tg128, same call (${at})`;
  const first = find(/^first start/, name);
  const second = find(/^second start/, name);
  const p = tg(file, at);
  const peer = p ? +p.avg_ts.toFixed(1) : undefined;
  // decode-all-one-call.sh: Graft's rows ran beside llama.cpp's build (other cores), and the 0.5B again after, nothing beside
  const control = find(/^control/, name);
  rows.push({ work: `decode, 1 stream, greedy (${process.env.REPORT_PRECISION ?? 'fp32'} base, split-K projections, captured)`, shape: name, call: at, graft: first?.greedy_tok_s, graft_second_process: second?.greedy_tok_s, ...(control ? { graft_nothing_beside: control.greedy_tok_s, graft_4rows_in_all_nothing_beside: +(control.greedy_4rows_tok_s_per_row * 4).toFixed(1) } : {}), peer, peer_stddev: p && +p.stddev_ts.toFixed(1), peer_name: F16, ratio: ratio(first?.greedy_tok_s, peer) });
  rows.push({ work: 'decode, 1 stream, sampled at temperature 0.8 (drawn on the device from 216f0ee; before, the logits read back)', shape: name, graft: first?.sampled_tok_s, peer, peer_name: F16, ratio: ratio(first?.sampled_tok_s, peer) });
  rows.push({ work: "decode, 1 stream, the Chat's sampling (top-k 40, top-p 0.95, min-p 0.05, penalty 1.1)", shape: name, graft: first?.chat_sampled_tok_s, peer, peer_name: F16, ratio: ratio(first?.chat_sampled_tok_s, peer) });
  const four = first && +(first.greedy_4rows_tok_s_per_row * 4).toFixed(1);
  const fourSecond = second && +(second.greedy_4rows_tok_s_per_row * 4).toFixed(1);
  const p4 = b4 >= 0 ? batched4[b4] : undefined;
  rows.push({ work: '4 rows side by side (base + 3 different adapters), tokens/s in all', shape: name, graft: four, graft_second_process: fourSecond, peer: p4, peer_name: `llama.cpp CUDA F16 llama-batched-bench, 4 sequences (S_TG), call ${callA}`, ratio: ratio(four, p4), graft_vs_own_single: ratio(four, first?.greedy_tok_s), graft_second_process_vs_own_single: ratio(fourSecond, second?.greedy_tok_s) });
  // from session 22: 4 rows each with its own adapter, against one stream of the base and one stream with an adapter
  if (first?.greedy_4adapters_tok_s_per_row) {
    const all = +(first.greedy_4adapters_tok_s_per_row * 4).toFixed(1);
    rows.push({ work: '4 rows side by side, 4 different adapters, tokens/s in all', shape: name, graft: all, graft_one_stream_with_an_adapter: first.greedy_1adapter_tok_s, graft_vs_own_single_base: ratio(all, first.greedy_tok_s), graft_vs_own_single_with_an_adapter: ratio(all, first.greedy_1adapter_tok_s), peer: p4, peer_name: `llama.cpp CUDA F16 llama-batched-bench, 4 sequences (S_TG) of the base, call ${callA}`, ratio: ratio(all, p4) });
  }
  rows.push({ work: 'first token after loading, empty graph cache (first time), ms', shape: name, graft: first?.first_ttft_ms, first_64_tokens_ms: first?.first_generation_ms, sessions: first?.sessions });
  rows.push({ work: 'first token after loading, second time (new process, graph cache filled), ms', shape: name, graft: second?.first_ttft_ms, first_64_tokens_ms: second?.first_generation_ms, sessions: second?.sessions });
}
for (const [name, file] of [['qwen2.5-0.5b', /qwen05b-q4_k_m/], ['qwen2.5-1.5b', /qwen15b-q4_k_m/], ['llama3.1-8b', /llama8b-q4_k_m/]] as const) {
  const x = g.find((y) => /4-bit/.test(y.section) && y.r.model === name);
  const r = x?.r;
  const p = tg(file, x?.call);
  const peer = p ? +p.avg_ts.toFixed(1) : undefined;
  rows.push({ work: "decode, 1 stream, greedy, 4-bit base (symmetric int4, ORT's fused 4-bit MLP op)", shape: name, call: x?.call ?? null, graft: r?.greedy_tok_s, peer: peer ?? null, peer_name: `llama.cpp CUDA Q4_K_M llama-bench tg128, same call (${x?.call ?? '-'})`, ratio: ratio(r?.greedy_tok_s, peer), graft_weight_gb: r?.weight_gb, first_64_tokens_ms: r?.first_generation_ms, ...(peer ? {} : { peer_missing: process.env.PEER_MISSING ?? 'no llama-bench figure for this model in the call' }) });
}
// REPORT_VERIFY_DIR: the call that ran `verify-reference --device gpu` (decode-all-one-call.sh leaves it to the training call)
const verify = [...bDirs, packedDir, ...(process.env.REPORT_VERIFY_DIR ? [process.env.REPORT_VERIFY_DIR] : [])].map((d) => path.join(d, 'verify-gpu.jsonl')).filter((f) => existsSync(f)).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as J));
const result = {
  what: `Graft (WebGPU EP, onnxruntime-node 1.30) against llama.cpp (CUDA build of node-llama-cpp 3.22.1's source) on one H200; random-init models of real shapes. ${process.env.REPORT_WHAT ?? ''}`.trim(),
  device: readFileSync(path.join(bDirs[0], 'peers2.log'), 'utf8').split('\n')[0],
  date: new Date().toISOString(),
  commit,
  rows,
  // every A/B line of call A (one process each, alternating, under llama.cpp's build): the split-K pairs
  // (decode-ab: now / before / split_all) and the 4-bit base's fused ops (packed-ab: now / before / qkv_too)
  [`ab_${callA.toLowerCase()}_under_build_load`]: { lines: ab.map((x) => x.r).filter((r) => r.round !== undefined || r.rounds === undefined), note: process.env.AB_NOTE ?? '' },
  verify_reference_gpu: verify.find((r) => 'ok' in r && 'total' in r) ?? null,
  graft_raw: g.map((x) => ({ call: x.call, section: x.section, ...x.r })),
  peers_raw: { llama_bench: llama, [`llama_batched_bench_${callA.toLowerCase()}`]: peersD1.split('\n').filter((l) => l.startsWith('|')) },
  notes: [process.env.REPORT_NOTE ?? 'What bounds each row: docs/gpu-speed.md.'].join(' '),
  // REPORT_DISPATCHES: bench/decode-dispatches.ts's file (each step's dispatches, counted from the graphs);
  // REPORT_PROFILE=FILE#KEY: an op-by-op profile kept in an earlier result file (a call of this session may run none)
  ...(process.env.REPORT_DISPATCHES ? { dispatches: { source: process.env.REPORT_DISPATCHES, rows: (JSON.parse(readFileSync(process.env.REPORT_DISPATCHES, 'utf8')) as J).rows } } : {}),
  ...(process.env.REPORT_PROFILE ? { profile: profileFrom(process.env.REPORT_PROFILE) } : {}),
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}${process.env.REPORT_SUFFIX ?? ''}`, result));
