/**
 * Assembles bench/results/gpu-vs-peers-<date>-training.json (issue 13) from the device calls of
 * bench/gpu/train-a.sh and train-b.sh. Each call's folder holds Graft's JSON lines (train-a.log: training
 * steps, the EP's GEMM ceiling; graft-8b.log: the 8B QLoRA row) and its peers (peers.log: PyTorch + PEFT's
 * anchor array or bench/gpu/peer-train.py's lines), optionally verify-gpu.jsonl. A row's ratio divides two
 * figures of the same call; rows are labelled with their call.
 *   npx tsx bench/gpu/train-report.ts COMMIT NAME=DIR [NAME=DIR ...]
 */
import { existsSync, readFileSync } from 'node:fs';
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
/** The same lines, each tagged with the A/B form and round of bench/gpu/first-step-ab.sh's last "== round R: FORM" marker. */
function tagged(file: string): J[] {
  if (!existsSync(file)) return [];
  let tag: J = {};
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      const m = /^== round (\d+): (\w+)/.exec(l);
      if (m) tag = { ab_round: +m[1], ab_form: m[2] };
      // train-one-call.sh's capture A/B: "== form: NAME" until "== form: end"
      const f = /^== form: (.+)$/.exec(l);
      if (f) tag = f[1] === 'end' ? {} : { form: f[1] };
      if (!l.startsWith('{')) return [];
      try {
        return [{ ...(JSON.parse(l) as J), ...tag }];
      } catch {
        return [];
      }
    });
}
const ratio = (g?: number, p?: number) => (g && p ? +(g / p).toFixed(3) : null);

/** PyTorch + PEFT's figures of one call: the anchor's pretty-printed array and/or peer-train.py's lines. */
function peers(dir: string): J[] {
  // a call may measure Graft alone (bench/gpu/first-step-15b.sh): no peers
  if (!existsSync(path.join(dir, 'peers.log'))) return [];
  const text = readFileSync(path.join(dir, 'peers.log'), 'utf8');
  const at = text.indexOf('[\n');
  const block: J[] = at >= 0 ? JSON.parse(text.slice(at, text.indexOf('\n]', at) + 2)) : [];
  return [...block, ...lines(path.join(dir, 'peers.log')).filter((r) => 'train_tok_s' in r)];
}

const [commit, ...calls] = process.argv.slice(2);
const rows: J[] = [];
const raw: J = {};
let device = '';
for (const c of calls) {
  const [call, dir] = c.split('=');
  const a = tagged(path.join(dir, 'train-a.log'));
  const p = peers(dir);
  if (existsSync(path.join(dir, 'peers.log'))) device ||= readFileSync(path.join(dir, 'peers.log'), 'utf8').split('\n')[0];
  const steps = a.filter((r) => 'train_tokens_per_s' in r);
  const gemm = a.filter((r) => r.bench === 'gemm-ceiling');
  const g8b = lines(path.join(dir, 'graft-8b.log')).filter((r) => 'train_tokens_per_s' in r || 'tokens_per_s' in r);
  const verify = lines(path.join(dir, 'verify-gpu.jsonl')).find((r) => 'ok' in r && 'total' in r);
  const profile = path.join(dir, 'profile-0.5b-8x512-gpu.json');
  raw[call] = { steps, gemm, graft_8b: g8b, peers: p, verify_reference_gpu: verify ?? null, ...(existsSync(profile) ? { profile_0_5b_8x512: JSON.parse(readFileSync(profile, 'utf8')) } : {}) };
  const main = steps.filter((r) => !r.ab_form && !r.form);
  const fp16 = (model: string, batch: number) => main.find((s) => s.model === model && s.batch === batch && s.precision === 'fp16');
  // first-step-ab.sh: every run starts from an empty graph cache, so each gives both rows, named by its form
  for (const s of steps.filter((r) => r.ab_form)) {
    const form = `${s.ab_form}, round ${s.ab_round}`;
    const peer = p.find((r) => r.model === s.model && r.bs === s.batch && r.seq === s.seq);
    rows.push({ call, work: `from loading to the end of the first training step, empty graph cache, ms (${form})`, shape: s.model, graft: s.load_ms + s.first_step_ms, sessions: s.sessions_created });
    rows.push({ call, work: `training step ${s.batch}x${s.seq}, r16 all 7 targets, LoRA fp16 base (${form})`, shape: s.model, graft: s.train_tokens_per_s, peer: peer?.train_tok_s, peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA', ratio: ratio(s.train_tokens_per_s, peer?.train_tok_s), step_ms: s.step_ms_median });
  }
  for (const s of steps.filter((r) => r.form)) {
    const peer = p.find((r) => r.model === s.model && r.bs === s.batch && r.seq === s.seq);
    rows.push({ call, work: `training step ${s.batch}x${s.seq}, r16 all 7 targets, LoRA fp16 base (${s.form})`, shape: s.model, graft: s.train_tokens_per_s, peer: peer?.train_tok_s, peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA', ratio: ratio(s.train_tokens_per_s, peer?.train_tok_s), step_ms: s.step_ms_median, captured_steps: s.captured_steps ?? null });
  }
  main.forEach((s, i) => {
    if (i === 0) {
      // each call's first row starts from an empty graph cache: the "first time" start-up figure
      rows.push({ call, work: 'from loading to the end of the first training step, empty graph cache, ms', shape: s.model, graft: s.load_ms + s.first_step_ms, sessions: s.sessions_created });
      // its later steps are a training row too when no other run of the call has this shape
      if (main.slice(1).some((o) => o.model === s.model && o.batch === s.batch && o.precision === s.precision)) return;
    }
    const peer = p.find((r) => r.model === s.model && r.bs === s.batch && r.seq === s.seq);
    const own = fp16(s.model, s.batch);
    const quant = s.precision !== 'fp16';
    rows.push({
      call,
      work: `training step ${s.batch}x${s.seq}, r16 all 7 targets, ${quant ? `QLoRA ${s.precision}` : 'LoRA fp16 base'}`,
      shape: s.model,
      graft: s.train_tokens_per_s,
      peer: peer?.train_tok_s,
      peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA',
      ratio: ratio(s.train_tokens_per_s, peer?.train_tok_s),
      step_ms: s.step_ms_median,
      captured_steps: s.captured_steps ?? null,
      ...(quant && own ? { step_time_vs_graft_fp16_lora: +(s.step_ms_median / own.step_ms_median).toFixed(2) } : {}),
      first_step_ms: s.first_step_ms,
    });
  });
  // Item 2: the 8x512 step's GEMM FLOPs at the EP's own fp16 rate (best form measured in the call).
  const s8 = fp16('qwen2.5-0.5b', 8);
  const best = gemm.filter((r) => r.M === 4096 && r.K === 896 && r.dtype === 'float16').sort((x, y) => y.tflops - x.tflops)[0];
  if (s8 && best) {
    const projections = 24 * (896 * 896 * 2 + 896 * 128 * 2 + 3 * 896 * 4864); // q,o + k,v + gate,up,down
    const linear = 2 * 2 * (projections + 151936 * 896) * 4096; // forward and dX of the projections and the head
    // attention's products over the full 512 x 512 scores: QK^T and PV forward, dQ, dK, dP, dV backward
    const attention = 24 * 6 * 2 * 8 * 14 * 512 * 512 * 64;
    const flops = linear + attention;
    const bound = 4096 / (flops / (best.tflops * 1e12));
    rows.push({ call, work: 'training step 8x512 against the EP fp16 GEMM rate (item 2)', shape: 'qwen2.5-0.5b', graft: s8.train_tokens_per_s, peer: Math.round(bound), peer_name: `tokens/s if the step's ${(flops / 1e12).toFixed(2)} TFLOP of GEMMs (forward and dX of the projections and head ${(linear / 1e12).toFixed(2)}, attention's six products ${(attention / 1e12).toFixed(2)}; LoRA's left out) ran at the EP's ${best.tflops} TFLOP/s (${best.form ?? 'gemm_tb'}, measured in this call) and nothing else took time`, ratio: ratio(s8.train_tokens_per_s, bound) });
  }
  const p8 = p.find((r) => r.model === 'llama3.1-8b');
  for (const r of g8b) {
    const tps = r.train_tokens_per_s ?? r.tokens_per_s;
    rows.push({ call, work: 'QLoRA step 1x1024, Llama-3.1-8B shapes', shape: 'llama3.1-8b', graft: tps, peer: p8?.train_tok_s, peer_name: 'PyTorch 2.11 + PEFT 0.21, bf16 LoRA (16-bit base), same shapes', ratio: ratio(tps, p8?.train_tok_s), gpu_memory_gb: { peak: r.gpu_memory?.peak_gb ?? null, train_form_estimate: r.estimate_gb?.gpu ?? null }, graft_raw: r, peer_memory: p8 && { peak_allocated_gib: p8.peak_allocated_gib, process_used_gib: p8.process_used_gib } });
  }
}
const result = {
  what: 'Graft training steps (WebGPU EP, onnxruntime-node 1.30) against PyTorch 2.11 + PEFT 0.21 on one GPU; random-init models of real shapes; each ratio from one device call.',
  device,
  date: new Date().toISOString(),
  commit,
  rows,
  raw,
  // REPORT_NOTE: what the call's conditions were (work in the background), said beside its figures
  notes: ['What bounds each row, with the arithmetic: docs/gpu-speed.md.', process.env.REPORT_NOTE].filter(Boolean).join(' '),
};
console.log('wrote', writeResult(`gpu-vs-peers-${new Date().toISOString().slice(0, 10)}-training${process.env.REPORT_SUFFIX ?? ''}`, result));
