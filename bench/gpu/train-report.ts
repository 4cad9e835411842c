/**
 * Assembles bench/results/gpu-vs-peers-<date>-training.json (issue 13) from what bench/gpu/train-a.sh and
 * train-b.sh bring back: Graft's JSON lines (train-a.log: steps, the EP's GEMM ceiling; graft-8b.log: the 8B
 * QLoRA row), the peers' output (peers.log: PyTorch + PEFT's anchor array and its 8B line), and
 * verify-gpu.jsonl. Every ratio divides two figures of the same machine; the peers ran minutes after Graft.
 *   npx tsx bench/gpu/train-report.ts DIR_A DIR_B COMMIT
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { writeResult } from '../common.js';

type J = Record<string, any>;
const lines = (file: string): J[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as J];
          } catch {
            return [];
          }
        })
    : [];

const [dirA, dirB, commit] = process.argv.slice(2);
const a = lines(path.join(dirA, 'train-a.log'));
const peersText = readFileSync(path.join(dirB, 'peers.log'), 'utf8');
const start = peersText.indexOf('[\n');
const peft: J[] = start >= 0 ? JSON.parse(peersText.slice(start, peersText.indexOf('\n]', start) + 2)) : [];
const peer8b = lines(path.join(dirB, 'peers.log')).find((r) => String(r.model).startsWith('llama3.1-8b'));
const g8b = lines(path.join(dirB, 'graft-8b.log')).filter((r) => r.shape === 'llama3.1-8b' || r.model === 'llama3.1-8b');
const verify = lines(path.join(dirA, 'verify-gpu.jsonl'));
const ratio = (g?: number, p?: number) => (g && p ? +(g / p).toFixed(3) : null);

const steps = a.filter((r) => 'train_tokens_per_s' in r);
const [cold, ...warm] = steps;
const gemm = a.filter((r) => r.bench === 'gemm-ceiling');
const rows: J[] = [];
const fp16 = (model: string, batch: number) => warm.find((s) => s.model === model && s.batch === batch && s.precision === 'fp16');
for (const s of warm) {
  const p = peft.find((r) => r.model === s.model && r.bs === s.batch && r.seq === s.seq);
  const own = fp16(s.model, s.batch);
  const quant = s.precision !== 'fp16';
  rows.push({
    work: `training step ${s.batch}x${s.seq}, r16 all 7 targets, ${quant ? `QLoRA ${s.precision}` : 'LoRA fp16 base'}`,
    shape: s.model,
    graft: s.train_tokens_per_s,
    peer: p?.train_tok_s,
    peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA',
    ratio: ratio(s.train_tokens_per_s, p?.train_tok_s),
    step_ms: s.step_ms_median,
    ...(quant && own ? { step_time_vs_graft_fp16_lora: +(s.step_ms_median / own.step_ms_median).toFixed(2) } : {}),
    first_step_ms: s.first_step_ms,
  });
}
// Item 2: the step's GEMM FLOPs at the EP's own fp16 GEMM rate (measured in this call at the 8x512 shape).
const s8 = fp16('qwen2.5-0.5b', 8);
const ceiling = gemm.find((r) => r.M === 4096 && r.K === 896 && r.dtype === 'float16');
if (s8 && ceiling) {
  // forward 2·N·tokens per base weight, backward dX the same again; LoRA and attention products are small beside it
  const projections = 24 * (896 * 896 * 2 + 896 * 128 * 2 + 3 * 896 * 4864); // q,o + k,v + gate,up,down
  const head = 151936 * 896;
  const flops = 2 * 2 * (projections + head) * 4096;
  const atTflops = flops / (ceiling.tflops * 1e12);
  rows.push({
    work: 'training step 8x512 against the EP fp16 GEMM ceiling (item 2)',
    shape: 'qwen2.5-0.5b',
    graft: s8.train_tokens_per_s,
    peer: +(4096 / atTflops).toFixed(0),
    peer_name: `tokens/s if every GEMM FLOP of the step (${(flops / 1e12).toFixed(2)} TFLOP: forward and dX of the projections and the head) ran at the EP's measured ${ceiling.tflops} TFLOP/s`,
    ratio: ratio(s8.train_tokens_per_s, 4096 / atTflops),
  });
}
if (cold) rows.push({ work: 'from loading to the end of the first training step, empty graph cache, ms', shape: cold.model, graft: cold.load_ms + cold.first_step_ms, sessions: cold.sessions_created });
const warm15 = fp16('qwen2.5-1.5b', 1);
if (warm15) rows.push({ work: 'from loading to the end of the first training step, warm graph cache (new process), ms', shape: warm15.model, graft: warm15.load_ms + warm15.first_step_ms });
for (const r of g8b) rows.push({ work: 'QLoRA step 1x1024, Llama-3.1-8B shapes', shape: 'llama3.1-8b', graft: r.train_tokens_per_s ?? r.tokens_per_s, peer: peer8b?.train_tok_s, peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA (not 4-bit), same shapes', ratio: ratio(r.train_tokens_per_s ?? r.tokens_per_s, peer8b?.train_tok_s), graft_raw: r, peer_memory: peer8b && { peak_allocated_gib: peer8b.peak_allocated_gib, process_used_gib: peer8b.process_used_gib } });
const summary = verify.find((r) => 'ok' in r && 'total' in r);
const result = {
  what: 'Graft training steps (WebGPU EP, onnxruntime-node 1.30) against PyTorch 2.11 + PEFT 0.21 on one GPU; random-init models of real shapes; the EP GEMM ceiling, Graft and the peers in two back-to-back calls on one machine.',
  device: peersText.split('\n')[0],
  date: new Date().toISOString(),
  commit,
  rows,
  gemm_ceiling: gemm,
  verify_reference_gpu: summary ?? null,
  graft_raw: steps,
  peers_raw: { pytorch_peft: peft, pytorch_peft_8b: peer8b ?? null },
  notes: 'What bounds each row, with the profile and the arithmetic: docs/gpu-speed.md.',
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}-training`, result));
