/**
 * bench/results/gpu-capture-ab-<date>-<suffix>.json from bench/gpu/capture-ab.sh's log: greedy decode with chains
 * replayed from the WebGPU EP's graph capture against op-by-op runs, alternating in one process (each round's
 * best of 3), one row and 4 rows side by side. llama.cpp's figures come from another call of the same session
 * (decode-one-call.sh's folder), named in each row: capture-ab.sh builds no peer.
 *   npx tsx bench/gpu/report-capture.ts CAPTURE_DIR PEER_DIR COMMIT [SUFFIX]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';
import { type J, llamaBench, sections } from './report-lines.js';

const [dir, peerDir, commit, suffix = 's13'] = process.argv.slice(2);
if (!dir || !peerDir || !commit) throw new Error('usage: report-capture.ts CAPTURE_DIR PEER_DIR COMMIT [SUFFIX]');
const log = path.join(dir, 'capture.log');
const device = readFileSync(log, 'utf8').split('\n')[0].trim();
const ab = sections(log).filter((x) => Array.isArray(x.r.rounds));
const llama = existsSync(path.join(peerDir, 'llama-bench.json')) ? llamaBench(path.join(peerDir, 'llama-bench.json')) : [];
const batched4 = readFileSync(path.join(peerDir, 'peers.log'), 'utf8')
  .split('\n')
  .filter((l) => /^\|\s+32 \|\s+64 \|\s+4 \|/.test(l))
  .map((l) => Number(l.split('|')[8].trim()));
const mean = (xs: number[]) => (xs.length ? +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : null);
const ratio = (a: number | null, b?: number | null) => (a && b ? +(a / b).toFixed(3) : null);
const F16 = { 'smollm2-135m': [/smol135m-f16/, 0], 'qwen2.5-0.5b': [/qwen05b-f16/, 1], 'qwen2.5-1.5b': [/qwen15b-f16/, -1] } as Record<string, [RegExp, number]>;
const peerCall = path.basename(peerDir);

const rows: J[] = [];
for (const { section, r } of ab) {
  const rounds = r.rounds as Record<string, number>[];
  const now = mean(rounds.map((x) => x.now));
  const before = mean(rounds.map((x) => x.before));
  const [file, b4] = F16[r.model] ?? [null, -1];
  const p = file ? llama.find((x) => x.n_gen === 128 && file.test(String(x.model_filename))) : undefined;
  const peer = p ? +p.avg_ts.toFixed(1) : null;
  const peerName = `llama.cpp CUDA F16 llama-bench tg128, call ${peerCall} of the same session (not this call)`;
  rows.push({ work: `decode, 1 stream, greedy, chains replayed from graph capture (${section})`, shape: r.model, graft: now, graft_op_by_op: before, capture_gain: ratio(now, before), rounds: rounds.map((x) => [x.now, x.before]), peer, peer_name: peerName, ratio: ratio(now, peer) });
  if (rounds[0].now_chat_sampling !== undefined) {
    const nowS = mean(rounds.map((x) => x.now_chat_sampling));
    const beforeS = mean(rounds.map((x) => x.before_chat_sampling));
    rows.push({ work: "decode, 1 stream, the Chat's sampling (logits read back each step), graph capture", shape: r.model, graft: nowS, graft_op_by_op: beforeS, capture_gain: ratio(nowS, beforeS), rounds: rounds.map((x) => [x.now_chat_sampling, x.before_chat_sampling]), peer, peer_name: peerName, ratio: ratio(nowS, peer) });
  }
  if (rounds[0].now_4rows_in_all !== undefined) {
    const now4 = mean(rounds.map((x) => x.now_4rows_in_all));
    const before4 = mean(rounds.map((x) => x.before_4rows_in_all));
    const p4 = b4 >= 0 ? batched4[b4] : null;
    rows.push({ work: '4 rows side by side (base + 3 different adapters), tokens/s in all, graph capture', shape: r.model, graft: now4, graft_op_by_op: before4, capture_gain: ratio(now4, before4), rounds: rounds.map((x) => [x.now_4rows_in_all, x.before_4rows_in_all]), graft_vs_own_single: ratio(now4, now), peer: p4, peer_name: `llama.cpp CUDA F16 llama-batched-bench, 4 sequences (S_TG), call ${peerCall}`, ratio: ratio(now4, p4) });
  }
}
const result = {
  what: 'Greedy decode with chains replayed from the WebGPU EP graph capture (ORT C API via koffi) against op-by-op runs, alternating in one process, 3 rounds of best-of-3; random-init models of real shapes.',
  device,
  date: new Date().toISOString(),
  commit,
  rows,
  verify_reference_gpu: existsSync(path.join(dir, 'verify-gpu.jsonl')) ? JSON.parse(readFileSync(path.join(dir, 'verify-gpu.jsonl'), 'utf8').trim().split('\n').pop()!) : null,
  notes: 'What bounds each row: docs/gpu-speed.md, eleventh pass.',
};
console.log('wrote', writeResult(`gpu-capture-ab-2026-12-03-${suffix}`, result));
