import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The result files of issues 12 and 13 are assembled from the device calls' raw logs by these reports: run them
// on the sessions' committed logs and check that each row names its form and call, and that a ratio is the
// quotient of the figures beside it (a report that paired the wrong lines would fail here).
const ROOT = path.resolve(import.meta.dirname, '../..');
const RAW = path.join(ROOT, 'bench/results/raw');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-reports-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function report(script: string, args: string[], env: Record<string, string> = {}): Record<string, any> {
  const out = mkdtempSync(path.join(tmp, 'out-'));
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/gpu', script), ...args], { env: { ...process.env, ...env, GRAFT_BENCH_OUT: out }, stdio: 'pipe' });
  const [file] = readdirSync(out);
  return JSON.parse(readFileSync(path.join(out, file), 'utf8'));
}

describe('GPU result reports', () => {
  it("train-report: first-step-ab's forms, each with its first step and warm step beside PyTorch's", () => {
    const dir = mkdtempSync(path.join(tmp, 'ab-'));
    copyFileSync(path.join(RAW, 's12-call-1/first-step-ab.log'), path.join(dir, 'train-a.log'));
    copyFileSync(path.join(RAW, 's12-call-1/peers.log'), path.join(dir, 'peers.log'));
    const r = report('train-report.ts', ['abc1234', `AB=${dir}`]);
    expect(r.commit).toBe('abc1234');
    const first = r.rows.filter((x: any) => x.work.startsWith('from loading'));
    expect(first.map((x: any) => /\((\w+), round (\d)\)/.exec(x.work)!.slice(1).join(' '))).toEqual(['plain 1', 'deferred 1', 'resident 1', 'plain 2', 'deferred 2', 'resident 2']);
    const ms = (form: string) => first.filter((x: any) => x.work.includes(`(${form},`)).map((x: any) => x.graft);
    expect(Math.max(...ms('resident'))).toBeLessThan(Math.min(...ms('plain')));
    const steps = r.rows.filter((x: any) => x.work.startsWith('training step'));
    expect(steps).toHaveLength(6);
    for (const x of steps) {
      expect(x.peer).toBe(2643);
      expect(x.ratio).toBeCloseTo(x.graft / x.peer, 3);
    }
  });

  it('report-decode: the rows of call X beside its llama-bench, the 4 sequences of call A, verify-reference', () => {
    const r = report('report-decode.ts', [path.join(RAW, 's12-call-2'), path.join(RAW, 's12-call-x'), 'abc1234'], { REPORT_CALLS: 'A,X' });
    const row = (work: RegExp, shape: string) => r.rows.find((x: any) => work.test(x.work) && x.shape === shape);
    const half = row(/^decode, 1 stream, greedy \(fp32/, 'qwen2.5-0.5b');
    expect(half.peer_name).toMatch(/same call \(X\)/);
    expect(half.ratio).toBeCloseTo(half.graft / half.peer, 3);
    const four = row(/^4 rows/, 'qwen2.5-0.5b');
    expect(four.peer_name).toMatch(/call A/);
    expect(four.graft_vs_own_single).toBeCloseTo(four.graft / half.graft, 2);
    expect(row(/4-bit base/, 'llama3.1-8b').peer_missing).toBeTruthy();
    expect(r.verify_reference_gpu).toMatchObject({ ok: 12, total: 12 });
    expect(r.ab_a_under_build_load.lines.length).toBeGreaterThan(0);
  });

  it("report-decode, session 22: 4 different adapters beside both one streams, the precision named", () => {
    const dir = path.join(RAW, 's22-call-b');
    const results = path.join(ROOT, 'bench/results');
    const r = report('report-decode.ts', [dir, dir, 'abc1234'], {
      REPORT_CALLS: 'B,B',
      REPORT_PRECISION: 'fp16',
      REPORT_DISPATCHES: path.join(results, 'decode-dispatches-2026-12-04.json'),
      REPORT_PROFILE: `${path.join(results, 'decode-fp16-h200-2026-12-04.json')}#profile_G`,
    });
    // the counts and the kept profile come along, each naming where it came from
    expect(r.dispatches.rows.find((x: any) => x.shape === 'qwen2.5-0.5b' && x.rows === 'base, one row').per_step).toBeGreaterThan(400);
    expect(r.profile.source).toMatch(/#profile_G$/);
    expect(r.profile.fp16.by_op[0].op).toBe('MatMul');
    const row = (work: RegExp, shape: string) => r.rows.find((x: any) => work.test(x.work) && x.shape === shape);
    const one = row(/^decode, 1 stream, greedy \(fp16/, 'qwen2.5-0.5b');
    expect(one.ratio).toBeCloseTo(one.graft / one.peer, 3);
    const four = row(/^4 rows side by side, 4 different adapters/, 'qwen2.5-0.5b');
    expect(four.graft_vs_own_single_base).toBeCloseTo(four.graft / one.graft, 2);
    expect(four.graft_vs_own_single_with_an_adapter).toBeCloseTo(four.graft / four.graft_one_stream_with_an_adapter, 2);
    expect(four.ratio).toBeCloseTo(four.graft / four.peer, 3);
    // 1.5B has no llama-batched-bench figure: no ratio, and none made up
    expect(row(/^4 rows side by side, 4 different adapters/, 'qwen2.5-1.5b').ratio).toBeNull();
  });

  it('report-s22: each A/B arm a mean of its own rounds; item 2 quotients of the figures beside them', () => {
    const r = report('report-s22.ts', ['abc1234']);
    const tiled = r.lora_tiled_T.means['qwen2.5-0.5b | one_adapter | tiled'];
    expect(tiled.tok_s_per_row).toBeCloseTo(tiled.rounds.reduce((a: number, b: number) => a + b, 0) / tiled.rounds.length, 1);
    expect(r.lora_tiled_T.means['qwen2.5-0.5b | one_adapter | summed'].tok_s_per_row).toBeGreaterThan(tiled.tok_s_per_row);
    for (const x of r.item2_nothing_beside_S) expect(x.four_adapters_vs_one_stream).toBeCloseTo(x.four_adapters_in_all / x.one_stream, 2);
    expect(r.split_k_in_fp16_S.rows[0].means.now).toBeGreaterThan(r.split_k_in_fp16_S.rows[0].means.before);
    expect(r.split_targets_W.runs).toHaveLength(8);
  });

  it('report-s23: both ORT versions, the depth and vocabulary cuts, the chain A/B as means of its rounds, NVML by section', () => {
    const r = report('report-s23.ts', ['abc1234']);
    const ort = r.ort_1_31_against_1_30_call_A;
    expect(ort.decode_05b_one_row_tok_s['1.31.1']).toHaveLength(2);
    expect(ort.decode_05b_one_row_tok_s['1.30.0']).toHaveLength(2);
    expect(ort.gemm_tflops['1.31.1'].length).toBeGreaterThan(0);
    // every cut named by its model, one-layer steps faster than whole ones
    const b = r.depth_and_vocabulary.call_B;
    const wall = (m: string) => b.filter((x: any) => x.model === m).map((x: any) => x.wall_ms);
    expect(Math.max(...wall('qwen2.5-0.5b~l1~v8192'))).toBeLessThan(Math.min(...wall('qwen2.5-0.5b')));
    const d = r.chains_call_D;
    expect(d.means.chain_32).toBeCloseTo(d.rounds.reduce((a: number, x: any) => a + x.chain_32, 0) / d.rounds.length, 1);
    expect(r.two_processes_call_E.rows).toHaveLength(12);
    expect(r.nvml_utilization_call_E.by_section.every((x: any) => x.samples > 0)).toBe(true);
  });

  it('report-s24: each projection beside its plain MatMul, the whole-decode A/Bs as means of their rounds', () => {
    const r = report('report-s24.ts', ['abc1234']);
    const rows = r.projections_in_replays_call_A.rows;
    expect(rows).toHaveLength(9);
    for (const x of rows) {
      expect(x.best_us).toBeLessThanOrEqual(x.plain_us);
      expect(Math.min(...x.forms.map((f: any) => f.us))).toBe(x.best_us);
    }
    const split = r.split_in_whole_decodes_call_A['qwen2.5-0.5b'];
    expect(split.rounds).toHaveLength(3);
    expect(split.means.no_split).toBeLessThan(split.means.now);
    const mr = r.mul_reducesum_call_B['qwen2.5-1.5b'];
    expect(mr.means.now).toBeCloseTo(mr.rounds.reduce((a: number, x: any) => a + x.now, 0) / 3, 1);
    expect(r.chains_sampled_call_C.means.now_chat_sampling).toBeGreaterThan(0);
    // call D: every model's A/B as three rounds; the memory runs in their order, the first (one-token, empty cache) without a result
    const one = r.one_token_steps_call_D;
    for (const m of ['qwen2.5-0.5b', 'smollm2-135m', 'qwen2.5-1.5b']) expect(one[m].rounds).toHaveLength(3);
    expect(one.memory_15b_one_row.runs.map((x: any) => x.one_token)).toEqual([true, false, true, false]);
    expect(one.memory_15b_one_row.runs[0]).toMatchObject({ first_ttft_ms: null, max_memory_used_mib: 46 });
    expect(one.memory_15b_one_row.runs[2].max_memory_used_mib).toBeGreaterThan(one.memory_15b_one_row.runs[1].max_memory_used_mib);
  });

  it('report-decode of session 24 call C: a row the call did not reach is empty, not borrowed from another call', () => {
    const dir = path.join(RAW, 's24-call-c');
    const r = report('report-decode.ts', [dir, dir, 'abc1234'], { REPORT_CALLS: 'C,C' });
    const row = (work: RegExp, shape: string) => r.rows.find((x: any) => work.test(x.work) && x.shape === shape);
    const missing = row(/4-bit base/, 'qwen2.5-1.5b');
    expect(missing.graft ?? null).toBeNull();
    expect(missing.ratio).toBeNull();
    const big = row(/4-bit base/, 'llama3.1-8b');
    expect(big).toMatchObject({ graft: 98, peer: 270.1 });
    expect(big.ratio).toBeCloseTo(98 / 270.1, 3);
  });

  it('report-decode over two calls: each row beside the llama.cpp figure of the call that measured it', () => {
    const r = report('report-decode.ts', [path.join(RAW, 's14-call-d'), `${path.join(RAW, 's14-call-d')},${path.join(RAW, 's14-call-e')}`, 'abc1234'], { REPORT_CALLS: 'D,D', REPORT_B_CALLS: 'D,E' });
    const row = (work: RegExp, shape: string) => r.rows.find((x: any) => work.test(x.work) && x.shape === shape);
    // 0.5B ran in call D; 1.5B only in call E (D's run of it was cut by its timeout); the 4-bit rows only in E
    expect(row(/^decode, 1 stream, greedy \(fp32/, 'qwen2.5-0.5b')).toMatchObject({ call: 'D', peer: 769.3 });
    expect(row(/^decode, 1 stream, greedy \(fp32/, 'qwen2.5-1.5b')).toMatchObject({ call: 'E', peer: 432.4, graft: 127.1 });
    const big = row(/4-bit base/, 'llama3.1-8b');
    expect(big).toMatchObject({ call: 'E', peer: 269.7, graft: 97.2 });
    expect(big.peer_name).toMatch(/same call \(E\)/);
    expect(big.ratio).toBeCloseTo(97.2 / 269.7, 3);
  });

  it('train-report: the op-by-op and captured A/B rows apart from the main rows, each with its captured-step count', () => {
    const r = report('train-report.ts', ['abc1234', `ONE=${path.join(RAW, 's14-call-t')}`]);
    const ab = r.rows.filter((x: any) => / \((op-by-op|captured)\)$/.test(x.work));
    expect(ab.map((x: any) => `${x.shape} ${/(\d+x\d+)/.exec(x.work)![1]} ${/\(([\w-]+)\)$/.exec(x.work)![1]} ${x.captured_steps}`)).toEqual([
      'qwen2.5-1.5b 1x512 op-by-op 0',
      'qwen2.5-0.5b 1x512 op-by-op 0',
      'qwen2.5-0.5b 8x512 op-by-op 0',
      'qwen2.5-1.5b 1x512 captured 3',
      'qwen2.5-0.5b 1x512 captured 3',
      'qwen2.5-0.5b 8x512 captured 3',
    ]);
    // the main rows are the call's first runs, captured (the default), one per shape and precision
    const main = r.rows.filter((x: any) => x.work.startsWith('training step') && !x.work.includes('GEMM rate') && !ab.includes(x));
    expect(main.map((x: any) => `${x.shape} ${x.captured_steps}`)).toEqual(['qwen2.5-1.5b 3', 'qwen2.5-0.5b 3', 'qwen2.5-0.5b 3', 'qwen2.5-0.5b 3']);
    for (const x of [...ab, ...main]) expect(x.ratio).toBeCloseTo(x.graft / x.peer, 3);
  });

  it("train-report: session 15's x·Aᵀ forms, each named as its marker says, beside the same call's peer", () => {
    const r = report('train-report.ts', ['abc1234', `ONE=${path.join(RAW, 's15-call-t')}`]);
    const ab = r.rows.filter((x: any) => /\(x·Aᵀ [^)]+\)$/.test(x.work));
    expect(ab.map((x: any) => `${x.shape} ${/\((x·Aᵀ [^)]+)\)$/.exec(x.work)![1]}`)).toEqual([
      'qwen2.5-1.5b x·Aᵀ one MatMul',
      'qwen2.5-0.5b x·Aᵀ one MatMul',
      'qwen2.5-1.5b x·Aᵀ split from 2048',
      'qwen2.5-0.5b x·Aᵀ split from 2048',
      'qwen2.5-1.5b x·Aᵀ split from 512',
      'qwen2.5-0.5b x·Aᵀ split from 512',
    ]);
    for (const x of ab) {
      expect(x.peer).toBe(x.shape === 'qwen2.5-1.5b' ? 3116 : 3376);
      expect(x.ratio).toBeCloseTo(x.graft / x.peer, 3);
    }
  });

  it('report-capture: each model\'s captured and op-by-op rounds, the gain their quotient, the peer named with its call', () => {
    const r = report('report-capture.ts', [path.join(RAW, 's13-call-c2'), path.join(RAW, 's13-call-d'), 'abc1234']);
    expect(r.commit).toBe('abc1234');
    const one = r.rows.find((x: any) => x.work.startsWith('decode, 1 stream') && x.shape === 'qwen2.5-0.5b');
    expect(one.rounds).toHaveLength(3);
    expect(one.graft).toBeCloseTo(one.rounds.reduce((a: number, x: number[]) => a + x[0], 0) / 3, 1);
    expect(one.capture_gain).toBeCloseTo(one.graft / one.graft_op_by_op, 3);
    expect(one.peer_name).toMatch(/call s13-call-d of the same session \(not this call\)/);
    expect(one.ratio).toBeCloseTo(one.graft / one.peer, 3);
    const four = r.rows.find((x: any) => x.work.startsWith('4 rows') && x.shape === 'qwen2.5-0.5b');
    expect(four.graft_vs_own_single).toBeCloseTo(four.graft / one.graft, 2);
    expect(r.rows.map((x: any) => x.shape)).toEqual(['smollm2-135m', 'smollm2-135m', 'qwen2.5-0.5b', 'qwen2.5-0.5b']);
  });
});
