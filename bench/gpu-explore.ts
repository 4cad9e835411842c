/**
 * Where GPU time goes, before optimizing: decode speed per model (greedy ids on the device, and
 * sampled = logits read back), the first generation after loading with each session's creation
 * phases, and training steps with their first-step cost. Run in separate processes to compare
 * EP settings (the WebGPU context takes the first session's options for the whole process).
 */
import { generate } from '../src-main/engine/infer/generate.js';
import type { SamplingOpts } from '../src-main/engine/infer/sampling.js';
import { CHAT_SAMPLING } from '../src-main/engine/options/generate.js';
import { loadModel } from '../src-main/engine/model.js';
import { QWEN25_05B_SHAPES, SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import type { ModelSpec } from '../src-main/engine/models/spec.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { createTimings } from '../src-main/engine/runtime/session.js';
import { webgpuContextState } from '../src-main/engine/runtime/webgpu-context.js';
import { replayHostTime } from '../src-main/engine/runtime/captured-graph.js';
import { captureStats } from '../src-main/engine/infer/decode-capture.js';
import { arg, benchModel, STORIES, writeResult } from './common.js';
import { stepBench } from './step-speed.js';
import { adapter } from './decode.js';
import { packedDecode, packedModel } from './packed-decode.js';
import { gemmCeiling } from './gemm-ceiling.js';
import { loadQuantizedBase, quantWeightsFactory, type QuantScheme } from '../src-main/engine/quant/index.js';
import type { DevicePref } from '../src-main/engine/runtime/device.js';
import { initializerDelta, openGpuMemoryProbe, samplerThreadMain } from './gpu-memory.js';
import { QLORA_SHAPES, qloraBig } from './qlora-8b.js';
import { firstStart } from './first-start.js';
import { samplingCheck } from './sampling-check.js';
import { opFloors } from './op-floors.js';
import { matvecReplay } from './matvec-replay.js';
import { releaseIdleSessions } from '../src-main/engine/infer/session-pool.js';

export const QWEN25_15B_SHAPES: HfConfig = { ...QWEN25_05B_SHAPES, hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2 };
export const SHAPES: Record<string, HfConfig> = {
  'smollm2-135m': SMOLLM2_135M_SHAPES,
  'qwen2.5-0.5b': QWEN25_05B_SHAPES,
  'qwen2.5-1.5b': QWEN25_15B_SHAPES,
  // Session 20: what a residual stream a multiple of 256 wide costs (the RMSNorm kernels' balanced width), as
  // a whole model of that width: 0.5B at 1,024 (16 heads of 64), 135M at 768 (12 heads of 64)
  'qwen2.5-0.5b-w1024': { ...QWEN25_05B_SHAPES, hidden_size: 1024, num_attention_heads: 16 },
  'smollm2-135m-w768': { ...SMOLLM2_135M_SHAPES, hidden_size: 768, num_attention_heads: 12 },
};

async function modelPath(name: string): Promise<string> {
  return name === 'stories260K' ? STORIES : benchModel(name, shapeOf(name));
}

/**
 * A shape by name; NAME~lN (N layers) and NAME~vN (a vocabulary of N) cut one down (session 23: a step's time
 * against its depth and its vocabulary, to part what each layer costs from what a step costs whatever its depth).
 */
export function shapeOf(name: string): HfConfig {
  const [base, ...cuts] = name.split('~');
  if (!SHAPES[base]) throw new Error(`no shape ${base}`);
  const cfg = { ...SHAPES[base] };
  for (const c of cuts) {
    const n = Number(c.slice(1));
    if (c[0] === 'l' && n > 0) cfg.num_hidden_layers = n;
    // the special ids move inside a cut vocabulary (Qwen's sit past 151,000)
    else if (c[0] === 'v' && n > 2) Object.assign(cfg, { vocab_size: n, bos_token_id: 1, eos_token_id: 2 });
    else throw new Error(`${name}: ~${c} is neither lN nor vN`);
  }
  return cfg;
}

/** f() with these environment variables set, the earlier values put back after. */
async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const was = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(was)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/** Rows with different rank-16 adapters on all 7 targets (seeds 1..n): the rows every decode bench times. */
const adapterRows = (spec: ModelSpec, n: number) => Array.from({ length: n }, (_, k) => ({ adapters: [{ weights: adapter(spec, k + 1), scale: 1 }] }));
/** The base and three different adapters: the side-by-side rows. */
const sideBySide = (spec: ModelSpec) => [{ adapters: [] }, ...adapterRows(spec, 3)];

/** First generation after loading (sessions built), then decode speed greedy and sampled. */
export async function decodeExplore(name: string, tokens = 64) {
  const device = await resolveDevice('gpu');
  const p = await modelPath(name);
  createTimings.splice(0);
  const t0 = performance.now();
  const model = await loadModel(p);
  const loadMs = performance.now() - t0;
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  // rows: 1 the base alone; 4 the base and 3 adapters; 'adapter' one row with an adapter; 'adapters' 4 rows, 4 adapters
  // (4 different adapters: issue 12's item 2 as written; the side-by-side rows are the base and the first three)
  const adapters = adapterRows(model.spec, 4);
  const variants = { 1: [{ adapters: [] }], 4: [{ adapters: [] }, ...adapters.slice(0, 3)], adapter: adapters.slice(0, 1), adapters };
  type Rows = keyof typeof variants;
  const run = (temperature: number, rows: Rows = 1, filters: Partial<SamplingOpts> = {}) =>
    generate({ model, device, tokenizer: null, prompt, variants: variants[rows], maxTokens: tokens, sampling: { temperature, seed: 1, ...filters }, stopAtEos: false });
  const first = await run(0);
  const firstMs = performance.now() - t0;
  const sessions = createTimings.splice(0);
  const best = async (temperature: number, rows: Rows = 1, filters: Partial<SamplingOpts> = {}) => {
    await run(temperature, rows, filters);
    let tps = 0;
    for (let i = 0; i < 3; i++) tps = Math.max(tps, (await run(temperature, rows, filters))[0].tokensPerSecond);
    return +tps.toFixed(1);
  };
  // Host ms inside the replays of a step (the EP and Dawn encoding and submitting them) beside the wall ms a
  // step: over best()'s 4 generations of `tokens` steps (the prefill runs uncaptured and is not counted).
  const withHostTime = async (f: () => Promise<number>) => {
    Object.assign(replayHostTime, { runs: 0, ms: 0 });
    const tps = await f();
    const steps = 4 * tokens;
    return { tps, host_ms_per_step: +(replayHostTime.ms / steps).toFixed(3), replays_per_step: +(replayHostTime.runs / steps).toFixed(2) };
  };
  const one = await withHostTime(() => best(0));
  const r: Record<string, unknown> = { submit_window: webgpuContextState()?.pending ?? null, model: name, load_ms: +loadMs.toFixed(0), first_generation_ms: +firstMs.toFixed(0), first_ttft_ms: +first[0].ttftMs.toFixed(0), sessions, greedy_tok_s: one.tps };
  r.greedy_wall_ms_per_step = +(1000 / one.tps).toFixed(3);
  r.greedy_host_ms_per_step = one.host_ms_per_step;
  r.greedy_replays_per_step = one.replays_per_step;
  // DECODE_QUICK=2: the base's one row only (the depth and vocabulary cuts of session 23)
  if (process.env.DECODE_QUICK === '2') {
    console.log(JSON.stringify(r));
    return r;
  }
  // DECODE_QUICK=1: greedy rows only (a comparison run beside the full one)
  if (process.env.DECODE_QUICK === '1') {
    const four = await withHostTime(() => best(0, 4));
    r.greedy_4rows_tok_s_per_row = four.tps;
    r.greedy_4rows_wall_ms_per_step = +(1000 / four.tps).toFixed(3);
    r.greedy_4rows_host_ms_per_step = four.host_ms_per_step;
    Object.assign(r, { greedy_4adapters_tok_s_per_row: await best(0, 'adapters'), greedy_1adapter_tok_s: await best(0, 'adapter') });
    console.log(JSON.stringify(r));
    return r;
  }
  Object.assign(r, { sampled_tok_s: await best(0.8), greedy_4rows_tok_s_per_row: await best(0, 4) });
  // item 2 as the issue words it (4 rows, 4 different adapters), and the one stream it compares with when that stream has an adapter
  Object.assign(r, { greedy_4adapters_tok_s_per_row: await best(0, 'adapters'), greedy_1adapter_tok_s: await best(0, 'adapter') });
  // The Chat screen's sampling (top-k 40, top-p 0.95, min-p 0.05, repetition penalty 1.1, temperature 0.7).
  const { seed: _seed, ...chat } = CHAT_SAMPLING;
  r.chat_sampled_tok_s = await best(chat.temperature, 1, chat);
  // What each part of the decode loop brings, in the same process: a read-back after every greedy step
  // (chain 1), then also new KV caches from every step (the fused graph's outputs kept, not bound).
  if (process.env.DECODE_AB !== '0') {
    r.greedy_read_each_step_tok_s = await withEnv({ GRAFT_GREEDY_CHAIN: '1' }, () => best(0));
    await withEnv({ GRAFT_GREEDY_CHAIN: '1', GRAFT_KV_IN_PLACE: '0' }, async () => {
      r.greedy_read_each_step_caches_copied_tok_s = await best(0);
      r.greedy_4rows_read_each_step_caches_copied_tok_s_per_row = await best(0, 4);
    });
  }
  console.log(JSON.stringify(r));
  return r;
}

/**
 * A decode's GPU time by kernel (ORT's profile with the EP's GPU timestamps): 2 greedy generations of 64
 * tokens on the fused graph (fp32 base, or `packed` for the int4 base), profile written to PREFIX_<date>.json
 * when the sessions end; bench/ort-profile-summary.py --shapes N --runs STEPS reads it.
 */
async function decodeGpuProfile(name: string, prefix: string, packed: boolean, rows4 = false) {
  process.env.GRAFT_ORT_PROFILE = prefix;
  try {
    if (packed) await packedDecode(name);
    else {
      const device = await resolveDevice('gpu');
      const model = await loadModel(await modelPath(name));
      const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
      // --rows4: the base and three different adapters side by side, as decodeExplore's 4 rows
      const variants = rows4 ? sideBySide(model.spec) : [{ adapters: [] }];
      for (let i = 0; i < 2; i++) {
        const [r] = await generate({ model, device, tokenizer: null, prompt, variants, maxTokens: 64, sampling: { temperature: 0, seed: 1 }, stopAtEos: false });
        console.log(JSON.stringify({ model: name, profiled: true, rows: variants.length, greedy_tok_s_per_row: +r.tokensPerSecond.toFixed(1) }));
      }
    }
  } finally {
    await releaseIdleSessions();
    delete process.env.GRAFT_ORT_PROFILE;
  }
}

/**
 * This pass's changes against the path before, in one process, alternating so that neither side runs at a
 * quieter time: greedy tok/s (best of 3 a round) with `env` set (now) and with `off` set (before), 3 rounds;
 * one base row, and (fp32 bases) 4 rows side by side; `third`, one row, another setting. `packed`: the int4
 * bench base of packed-decode.ts.
 */
async function decodeAb(name: string, on: Record<string, string>, off: Record<string, string>, packed: boolean, third?: { label: string; env: Record<string, string> }, sampled = false) {
  const device = await resolveDevice('gpu');
  const { model, weights, prompt } = packed ? packedModel(name) : await (async () => {
    const m = await loadModel(await modelPath(name));
    return { model: m, weights: undefined, prompt: Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (m.spec.vocab - 1))) };
  })();
  const four = sideBySide(model.spec);
  // temperature 0: greedy; else the Chat's sampling (logits read back every step)
  const { seed: _seed, ...chat } = CHAT_SAMPLING;
  const run = async (rows: number, temperature = 0) =>
    (await generate({ model, device, tokenizer: null, prompt, variants: rows === 4 ? four : [{ adapters: [] }], maxTokens: 64, sampling: temperature ? { ...chat, seed: 1 } : { temperature: 0, seed: 1 }, stopAtEos: false, weights }))[0].tokensPerSecond;
  const best = async (rows: number, temperature = 0) => {
    await run(rows, temperature);
    let t = 0;
    for (let i = 0; i < 3; i++) t = Math.max(t, await run(rows, temperature));
    return +t.toFixed(1);
  };
  const r: Record<string, unknown> = { model: name, packed, now_env: on, before_env: off, rounds: [] as unknown[] };
  for (let round = 0; round < 3; round++) {
    const row: Record<string, number> = {};
    row.now = await withEnv(on, () => best(1));
    row.before = await withEnv(off, () => best(1));
    if (third) row[third.label] = await withEnv(third.env, () => best(1));
    if (sampled) {
      row.now_chat_sampling = await withEnv(on, () => best(1, chat.temperature));
      row.before_chat_sampling = await withEnv(off, () => best(1, chat.temperature));
    }
    if (!packed) {
      row.now_4rows_in_all = +(4 * (await withEnv(on, () => best(4)))).toFixed(1);
      row.before_4rows_in_all = +(4 * (await withEnv(off, () => best(4)))).toFixed(1);
    }
    (r.rounds as unknown[]).push(row);
    // each round as it ends: a run cut off by its timeout still leaves the rounds it finished
    console.log(JSON.stringify({ model: name, packed, round, ...row }));
    await releaseIdleSessions(); // two models' sessions per side would pass the pool's bound
  }
  console.log(JSON.stringify(r));
}

/**
 * Arms (environment variables) against each other over kinds of rows, in a captured greedy decode, alternating in
 * one process: per row tok/s (best of 3 generations of 64 tokens after one), the chains replayed from captures and
 * the host's time in the replays a run. `f16-rows` (session 21's call R: which rows make fp16 slower; session 22's
 * call L ran a third arm at ae09bdd, the adapter rows' products in fp32 inside the fp16 graph: slower, then removed)
 * and session 22's call T (lora-tiled-ab at 1580aa2, below).
 */
async function rowsAb(name: string, arms: Record<string, Record<string, string>>, kinds: string[], rounds: number) {
  const device = await resolveDevice('gpu');
  const model = await loadModel(await modelPath(name));
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const adapters = adapterRows(model.spec, 4);
  const four = [{ adapters: [] }, ...adapters.slice(0, 3)];
  const all: Record<string, typeof four> = { base: [{ adapters: [] }], one_adapter: adapters.slice(0, 1), base_and_3_adapters: four, four_adapters: adapters, four_base: four.map(() => ({ adapters: [] })) };
  const run = (variants: typeof four) => generate({ model, device, tokenizer: null, prompt, variants, maxTokens: 64, sampling: { temperature: 0, seed: 1 }, stopAtEos: false });
  for (let round = 0; round < rounds; round++)
    for (const label of kinds)
      for (const [arm, env] of Object.entries(arms))
        await withEnv(env, async () => {
          await run(all[label]);
          const chains = captureStats.chains;
          Object.assign(replayHostTime, { runs: 0, ms: 0 });
          let best = 0;
          for (let i = 0; i < 3; i++) best = Math.max(best, (await run(all[label]))[0].tokensPerSecond);
          console.log(JSON.stringify({ model: name, round, rows: label, arm, tok_s_per_row: +best.toFixed(1), captured_chains: captureStats.chains - chains, replay_host_ms: +(replayHostTime.ms / Math.max(1, replayHostTime.runs)).toFixed(3) }));
        });
  await releaseIdleSessions();
}

/** Greedy ids of 64 steps in fp16 and in fp32 on one model: the first step where they part (64: none). */
async function halfAgreement(name: string) {
  const device = await resolveDevice('gpu');
  const model = await loadModel(await modelPath(name));
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const ids = (env: Record<string, string>) =>
    withEnv(env, async () => (await generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [] }], maxTokens: 64, sampling: { temperature: 0, seed: 1 }, stopAtEos: false }))[0].ids);
  const [half, full] = [await ids({ GRAFT_DECODE_FP16: '1' }), await ids({ GRAFT_DECODE_FP16: '0' })];
  const parted = half.findIndex((t, i) => t !== full[i]);
  console.log(JSON.stringify({ model: name, f16_agreement: { steps: full.length, first_difference: parted < 0 ? null : parted, distinct_ids: new Set(full).size } }));
  await releaseIdleSessions();
}

async function main() {
  const [what, ...names] = process.argv.slice(2);
  if (what === 'models') for (const n of names) console.log(await modelPath(n)); // write the random models before timing anything
  if (what === 'decode') for (const n of names) await decodeExplore(n);
  if (what === 'packed') for (const n of names) await packedDecode(n);
  // decode-ab NAME...: split-K projections against plain MatMuls; packed-ab NAME...: ORT's fused 4-bit ops against none
  if (what === 'decode-ab') for (const n of names) await decodeAb(n, { GRAFT_SPLITK: '1024' }, { GRAFT_SPLITK: '0' }, false, { label: 'split_all', env: { GRAFT_SPLITK: '1024', GRAFT_SPLITK_ALL: '1' } });
  // capture-ab / packed-capture-ab NAME...: greedy chains replayed from the EP's graph capture against plain runs
  if (what === 'capture-ab') for (const n of names) await decodeAb(n, { GRAFT_GRAPH_CAPTURE: '1' }, { GRAFT_GRAPH_CAPTURE: '0' }, false, undefined, true);
  // split-K on every projection slices fit against the default (the long-K, few-workgroup ones), both captured:
  // the eighth pass found the split's two added kernels cost what it saved, at ~9 µs a kernel op by op
  if (what === 'splitk-ab') for (const n of names) await decodeAb(n, { GRAFT_SPLITK_ALL: '1' }, { GRAFT_SPLITK_ALL: '0' }, false);
  // the adapter rows' x·Aᵀ split along K against one batched MatMul (4 rows; the one-row figures are a control)
  if (what === 'lorasplit-ab') for (const n of names) await decodeAb(n, { GRAFT_LORA_SPLITK: '1024' }, { GRAFT_LORA_SPLITK: '0' }, false);
  // the Chat's sampling drawn on the device in chains against drawn on the host each step (greedy rows: a control)
  if (what === 'sampling-ab') for (const n of names) await decodeAb(n, { GRAFT_DEVICE_SAMPLING: '1' }, { GRAFT_DEVICE_SAMPLING: '0' }, false, undefined, true);
  // sampling-check NAME...: the same seeds drawn on the device and on the host, two rows: tokens in common
  if (what === 'sampling-check')
    for (const n of names) {
      const model = await loadModel(await modelPath(n));
      await samplingCheck(model, await resolveDevice('gpu'), n, sideBySide(model.spec).slice(0, 2));
    }
  // the argmax's row maximum in two reductions against one ReduceMax a row (4 rows: 274 µs in the profile)
  if (what === 'argmax-ab') for (const n of names) await decodeAb(n, { GRAFT_ARGMAX_PARTS: '1' }, { GRAFT_ARGMAX_PARTS: '0' }, false);
  if (what === 'packed-capture-ab') for (const n of names) await decodeAb(n, { GRAFT_GRAPH_CAPTURE: '1' }, { GRAFT_GRAPH_CAPTURE: '0' }, true);
  if (what === 'packed-ab') for (const n of names) await decodeAb(n, { GRAFT_NBITS_FUSION: 'mlp' }, { GRAFT_NBITS_FUSION: '0' }, true, { label: 'qkv_too', env: { GRAFT_NBITS_FUSION: 'all' } });
  // decode-profile PREFIX [--packed | --rows4] NAME...: each model's profile at PREFIX-NAME_<date>.json
  if (what === 'decode-profile') for (const n of names.slice(1).filter((n) => !n.startsWith('--'))) await decodeGpuProfile(n, `${names[0]}-${n}`, names.includes('--packed'), names.includes('--rows4'));
  // pad-ab NAME...: the residual stream padded to a multiple of 256 (nodes.ts, streamWidth) against the hidden size
  if (what === 'pad-ab') for (const n of names) await decodeAb(n, {}, { GRAFT_PAD_STREAM: '0' }, false);
  // f16-ab NAME... [--no-agree]: the fused graph in fp16 (gpu-forms.ts, fusedHalf) against fp32, after how far their
  // greedy ids agree (unless --no-agree)
  if (what === 'f16-ab')
    for (const n of names.filter((x) => !x.startsWith('--'))) {
      if (!names.includes('--no-agree')) await halfAgreement(n);
      await decodeAb(n, { GRAFT_DECODE_FP16: '1' }, { GRAFT_DECODE_FP16: '0' }, false);
    }
  // split-ab NAME...: the default split-K (every projection slices fit) against splitting only the long-K, few-workgroup
  // ones (fewer dispatches) and against none; measured in fp32 before (sessions 13-15), asked again of the fp16 graph
  if (what === 'split-ab') for (const n of names) await decodeAb(n, {}, { GRAFT_SPLITK_ALL: '0' }, false, { label: 'no_split', env: { GRAFT_SPLITK: '0' } });
  // chain-ab NAME...: greedy chains of up to 16 steps between read-backs against 8 (the default before session 23), and
  // up to 32 (today's default; session 23's call B: a read after every step costs ~2 ms at 0.5B, the pipeline drained)
  if (what === 'chain-ab') for (const n of names) await decodeAb(n, { GRAFT_GREEDY_CHAIN: '16' }, { GRAFT_GREEDY_CHAIN: '8' }, false, { label: 'chain_32', env: { GRAFT_GREEDY_CHAIN: '32' } });
  // rows-ab NAME...: session 24's call B (bundle ff52318) ran one-row projections as Mul + ReduceSum over [N, K] weights
  // against split-K MatMuls: 0.5B 232 against 268 tok/s, 1.5B 127 against 186, 135M even; removed after it.
  // chain-sampled-ab NAME...: chains of up to 32 steps against 8, greedy and the Chat's sampling drawn on the device
  // (session 23 ran the sampled chains in rounds on lavapipe only)
  if (what === 'chain-sampled-ab') for (const n of names) await decodeAb(n, { GRAFT_GREEDY_CHAIN: '32' }, { GRAFT_GREEDY_CHAIN: '8' }, false, undefined, true);
  // one-token-ab NAME...: one row's captured steps replayed from a one-token graph of static shapes over the any-length
  // graph's weights (GRAFT_ONE_TOKEN=1, decode-sessions.ts oneTokenSteps: no split-K input transposes) against the
  // any-length graph; 4 rows replay the any-length graph in both arms (a control). Session 24's call D ran it at
  // e5b7f31, where the one-token graph was the default.
  if (what === 'one-token-ab') for (const n of names) await decodeAb(n, { GRAFT_ONE_TOKEN: '1' }, { GRAFT_ONE_TOKEN: '0' }, false);
  // f16-rows NAME...: fp16 against fp32 by kind of row
  if (what === 'f16-rows') for (const n of names) await rowsAb(n, { fp16: { GRAFT_DECODE_FP16: '1' }, fp32: { GRAFT_DECODE_FP16: '0' } }, ['four_adapters', 'four_base', 'one_adapter'], 2);
  // lora-tiled-ab NAME...: session 22's call T (bundle 1580aa2) ran the adapters' delta in a tiled form (x·Aᵀ in runs of K
  // by a broadcast 5-D MatMul, the partials summed by Bᵀ stacked) against split-K's: twice as slow, removed after it (see
  // docs/gpu-speed.md, twentieth pass). The rows' kinds stay in rowsAb.
  // ablate-ab ON THIRD NAME...: TIMING ONLY (session 20): GRAFT_ABLATE=ON against none, THIRD one row
  if (what === 'ablate-ab') for (const n of names.slice(2)) await decodeAb(n, { GRAFT_ABLATE: names[0] }, { GRAFT_ABLATE: '' }, false, { label: `ablate_${names[1]}`, env: { GRAFT_ABLATE: names[1] } });
  // op-floors: the replay cost of one op of each kind the decode step is made of (bench/op-floors.ts)
  if (what === 'op-floors') await opFloors();
  // matvec-replay [K,N:S,...[:f16]] ...: the one-row projections' forms inside a replay (bench/matvec-replay.ts)
  if (what === 'matvec-replay') await matvecReplay(names);
  if (what === 'memsampler') return samplerThreadMain(); // the qlora8b run's GPU memory sampler thread
  if (what === 'memprobe') {
    // The probe's own check on this machine: a 256 MiB initializer should show as about 256 MiB.
    const probe = await openGpuMemoryProbe();
    console.log(JSON.stringify({ vulkan_device: probe.device, scope: probe.scope, budget: probe.budget(), ...(await initializerDelta(probe)) }));
    probe.close();
  }
  if (what === 'qlora8b') {
    const r = await qloraBig({
      shape: arg('shape', 'llama3.1-8b'),
      layers: process.argv.includes('--layers') ? Number(arg('layers', '')) : undefined,
      scheme: arg('scheme', 'nf4') as QuantScheme,
      embeddings: arg('embeddings', 'fp16') as 'fp16' | 'int8',
      precision: arg('precision', 'fp32') as 'fp32' | 'fp16',
      batch: Number(arg('batch', '1')),
      seq: Number(arg('seq', '1024')),
      steps: Number(arg('steps', '4')),
      device: arg('device', 'gpu') as DevicePref,
      checkpoint: process.argv.includes('--checkpoint'),
      buildOnly: process.argv.includes('--build-only'),
      samplerThread: { script: process.argv[1], argv: ['memsampler'] },
    });
    console.log(JSON.stringify(r));
    if (!('date' in r)) return;
    const name = `qlora-8b-${r.shape.name}${r.shape.layers !== QLORA_SHAPES[r.shape.name].num_hidden_layers ? `-${r.shape.layers}l` : ''}-${r.scheme}-${r.precision}-${r.embeddings}${r.checkpoint ? '-ckpt' : ''}-${r.date.slice(0, 10)}`;
    // On the device machine results go under $OUT; here (no OUT) into bench/results.
    if (process.env.OUT && !process.env.GRAFT_BENCH_OUT) process.env.GRAFT_BENCH_OUT = process.env.OUT;
    console.log('wrote', writeResult(name, r));
  }
  if (what === 'gemm') await gemmCeiling(names.length ? names.map((s) => s.split(',').map(Number) as [number, number, number]) : undefined);
  // first-start train|decode NAME [--device gpu] [--config 1x512] [--precision fp16]: bench/first-start.ts
  if (what === 'first-start') await firstStart(names[0], names[1], SHAPES);
  if (what === 'step') {
    const [name, cfgs, prec] = names;
    const configs = cfgs.split(',').map((c) => c.split('x').map(Number) as [number, number]);
    // nf4 / int4: 4-bit base multiplied in fp32; nf4-fp16 / int4-fp16: dequantized to fp16, multiplied in fp16
    const [scheme, half] = prec.split('-');
    if (scheme === 'nf4' || scheme === 'int4') {
      const source = (await loadModel(await modelPath(name))).source;
      const t0 = performance.now();
      const q = await loadQuantizedBase(source, scheme, {});
      console.log(JSON.stringify({ quantize_ms: +(performance.now() - t0).toFixed(0) }));
      await stepBench('gpu', configs, 3, 'fp32', [name, SHAPES[name]], quantWeightsFactory(q.store, { half: half === 'fp16', storeId: q.storeId }), prec);
    } else await stepBench('gpu', configs, 3, prec as 'fp16', [name, SHAPES[name]]);
  }
}

if (process.argv[1]?.endsWith('gpu-explore.cjs') || process.argv[1]?.endsWith('gpu-explore.ts')) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
