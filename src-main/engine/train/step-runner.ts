/**
 * StepRunner over the training graphs: LoRA weights, AdamW moments and accumulated gradients live
 * where the sessions run (GPU buffers on WebGPU) and are fed from one run's outputs into the next.
 * Only the loss and the gradient norm are read back each step.
 */
import { type LoraConfig } from '../adapters/lora-config.js';
import { loraSlots } from '../adapters/lora.js';
import { type MethodAdapter, prefixCausalMask } from '../adapters/method.js';
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { WeightSource } from '../io/model-source.js';
import { dropPrefetched } from '../io/weight-threads.js';
import { specFromConfig } from '../models/index.js';
import type { ModelSpec } from '../models/spec.js';
import { halfWeights, qkvGrouped } from '../models/half-weights.js';
import { buildResidentWeightsGraph, prefetchResidentWeights, residentHalfWeights, residentOf } from '../models/resident-weights.js';
import { releaseHostWeights, type WeightsFactory } from '../models/weights.js';
import { resolveDevice, type DeviceInfo, type DevicePref } from '../runtime/device.js';
import { findRef } from '../runtime/graph-cache.js';
import { GraphSession } from '../runtime/session.js';
import { sourceStamp } from '../io/source-stamp.js';
import type { Feed, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll, writeInto } from '../runtime/transfer.js';
import { ADAMW_SCALARS, adamwScalars } from './adamw.js';
import { causalMask, positionRange } from '../models/decoder-inputs.js';
import { shiftLabels } from './loss.js';
import { openStepCapture, type StepCapture, type StepState } from './step-capture.js';
import { buildStepGraph, FLAT, flatten, paramLayout, type StepPurpose, tensorLayout, unflatten } from './step-graph.js';
import type { AdamWHyper, StepRunner, TensorMap, TokenBatch, TrainerState } from './types.js';

export interface StepRunnerOpts {
  source: WeightSource;
  lora: LoraConfig;
  device: DevicePref;
  batch: number;
  seqLen: number;
  seed: number;
  spec?: ModelSpec;
  /** Quantized base weights for QLoRA; default fp32. */
  weights?: WeightsFactory;
  /** A non-LoRA method (DoRA, IA³, prefix) trained instead of `lora` (which then only lends its dropout of 0). */
  adapter?: MethodAdapter;
  /** Recompute each layer's activations in the backward (step-graph.ts `checkpoint`). */
  recomputeActivations?: boolean;
}

export interface FusedStepRunner extends StepRunner {
  readonly device: DeviceInfo;
  readonly spec: ModelSpec;
  /** accumulate + apply in one graph run, for gradient accumulation of 1. */
  step(batch: TokenBatch, hp: AdamWHyper): Promise<{ lossSum: number; tokens: number; gradNorm: number }>;
}

/** PEFT's init: A ~ kaiming_uniform(a=√5) = U(±1/√in), B = 0, so the adapter starts as the identity. */
export function initLora(spec: ModelSpec, lora: LoraConfig, seed: number): TensorMap {
  const rng = new SeededRng(deriveSeed(seed, 0x10a));
  const out: TensorMap = new Map();
  for (const s of loraSlots(spec, lora)) {
    const bound = 1 / Math.sqrt(s.shapeA[1]);
    out.set(s.peftA, {
      shape: s.shapeA,
      data: Float32Array.from({ length: s.shapeA[0] * s.shapeA[1] }, () => (rng.next() * 2 - 1) * bound),
    });
    out.set(s.peftB, { shape: s.shapeB, data: new Float32Array(s.shapeB[0] * s.shapeB[1]) });
  }
  return out;
}

export async function createStepRunner(o: StepRunnerOpts): Promise<FusedStepRunner> {
  const spec = o.spec ?? specFromConfig(o.source.config, o.source.path);
  const device = await resolveDevice(o.device);
  const { batch: B, seqLen: T } = o;
  // fp16 projections made once on the device and fed to every step graph (models/resident-weights.ts). On the
  // H200 (session 12) the 1.5B first step took 7.8 s against 11.4–12.9 s with each graph holding its weights,
  // for a warm step ~2% slower (246.5 against 239–242 ms); GRAFT_RESIDENT_WEIGHTS=0 goes back.
  const resident = o.weights === halfWeights && device.kind === 'webgpu' && process.env.GRAFT_RESIDENT_WEIGHTS !== '0';
  const weights = resident ? residentHalfWeights : o.weights;
  let residentFeeds: Promise<Record<string, Feed>> | null = null;
  let residentSession: GraphSession | null = null;
  /** The weights whose resident forms a graph with these inputs takes, and the key their graph is cached under. */
  const residentNamesOf = (inputNames: readonly string[]) => [...new Set(inputNames.map(residentOf).filter((n): n is string => n !== null))].sort();
  const residentKey = (names: readonly string[]) => `resident|${sourceStamp(o.source)}|${JSON.stringify(names)}|${device.kind}`;
  /** The resident forms a graph takes, made the first time one is needed (the step graph's inputs name them). */
  const residentFor = (inputNames: readonly string[]): Promise<Record<string, Feed>> => {
    if (!resident) return Promise.resolve({});
    residentFeeds ??= (async () => {
      const names = residentNamesOf(inputNames);
      // ConstantFolding off: ORT would transpose every weight on the host at session creation. The session
      // lives as long as the runner: ORT may hand its initializer itself back as the [out, in] output.
      try {
        const ws = await GraphSession.createCached(residentKey(names), () => buildResidentWeightsGraph(o.source, names), { device, keepOnDevice: () => true, noOptimize: true });
        residentSession = ws;
        return await ws.run({});
      } finally {
        dropPrefetched();
        releaseHostWeights(o.source);
      }
    })();
    return residentFeeds;
  };
  /**
   * Starts reading the resident forms' weights on the weight threads when the graph cache does not hold their
   * graph yet (a first start), so that ORT creating another session meanwhile overlaps the reads.
   */
  const prefetchResident = (inputNames: readonly string[]): void => {
    // GRAFT_READ_AHEAD=0: read them when the build asks, after the captured session (measurements)
    if (!resident || residentFeeds || process.env.GRAFT_READ_AHEAD === '0') return;
    const names = residentNamesOf(inputNames);
    if (!findRef(residentKey(names))) prefetchResidentWeights(o.source, names);
  };
  // On the GPU a LoRA factor's x·Aᵀ over few rows is split along its long inner axis (ops/matmul.ts,
  // splitInnerForward), from 2,048 inputs; GRAFT_LORA_SPLIT=0 keeps one MatMul, =all splits from 512 (measurements).
  const splitEnv = process.env.GRAFT_LORA_SPLIT;
  const splitInner = device.kind !== 'webgpu' || splitEnv === '0' ? 0 : splitEnv === 'all' ? 512 : 2048;
  /** A purpose's step graph: how to build it, and the key it is saved under (null: saved by content). */
  const stepGraph = (purpose: StepPurpose, accumulate: boolean) => {
    const build = () =>
      buildStepGraph({
        spec,
        source: o.source,
        lora: o.lora,
        batch: B,
        seq: T,
        purpose,
        accumulate,
        weights,
        adapter: o.adapter,
        recomputeActivations: o.recomputeActivations,
        splitInner,
      }).graph;
    // A step graph of the model's own (or fp16-rounded) weights, or of a quantized store named by its cache
    // file (quantStoreId), is saved under a key, so the next run of the same shapes skips building it.
    const wName = weights ? weights.cacheName : 'fp32';
    // Another method's layout is its whole config (adapter_config.json as it would be written).
    const layoutKey = o.adapter ? JSON.stringify({ method: o.adapter.kind, ...o.adapter.peftConfig() }) : JSON.stringify(o.lora);
    const key = wName
      ? `step|${sourceStamp(o.source)}|${JSON.stringify(spec)}|${wName}|${layoutKey}|${B}x${T}|${purpose}${accumulate ? '+acc' : ''}|${device.kind}${o.recomputeActivations ? '|recompute' : ''}${splitInner ? `|split-inner${splitInner}` : ''}${qkvGrouped() ? '' : '|qkv-apart'}`
      : null;
    return { key, build };
  };
  const sessions = new Map<string, Promise<GraphSession>>();
  const session = (purpose: StepPurpose, accumulate: boolean) => {
    const id = `${purpose}${accumulate ? '+acc' : ''}`;
    let s = sessions.get(id);
    if (!s) {
      const { key, build } = stepGraph(purpose, accumulate);
      const keep = (n: string) => n !== 'loss_sum' && n !== 'grad_norm';
      s = (
        key ? GraphSession.createCached(key, build, { device, keepOnDevice: keep }) : GraphSession.create(build(), { device, keepOnDevice: keep })
      ).finally(() => releaseHostWeights(o.source));
      sessions.set(id, s);
    }
    return s;
  };

  /** The session for a purpose, with the resident weights it takes added to `feeds`. */
  const sessionFor = async (purpose: StepPurpose, accumulate: boolean, feeds: Record<string, Feed>) => {
    const s = await session(purpose, accumulate);
    Object.assign(feeds, await residentFor(s.inputNames));
    return s;
  };

  const slots = o.adapter ? [] : loraSlots(spec, o.lora);
  const { layout, size } = o.adapter ? tensorLayout(o.adapter.params) : paramLayout(slots);
  const P = o.adapter?.virtualTokens ?? 0;
  // The state: one flat vector each for the LoRA factors, both moments and the accumulated gradient.
  let params!: Feed;
  let m!: Feed;
  let v!: Feed;
  let acc: Feed | null = null;
  let counter = 0;

  const dispose = (...ts: (Feed | null)[]) => ts.forEach((t) => t && 'dispose' in t && t.dispose());
  /** The captured step (step-capture.ts), once its first step opened it: from then on the state keeps its buffers. */
  let captured: StepCapture | null = null;
  /** Replaces the state, or writes it into the captured step's buffers. */
  const putState = async (next: Feed[]) => {
    if (captured) await writeInto([params, m, v], next, device);
    else {
      dispose(params, m, v);
      [params, m, v] = next;
    }
  };
  const setState = async (s: TrainerState) => {
    const host = [s.lora, s.m, s.v].map((t): HostTensor => ({
      dtype: 'float32',
      shape: [size],
      data: flatten(layout, size, (n) => t.get(n)?.data),
    }));
    await putState(captured ? host : await toDeviceAll(host, device));
    dispose(acc);
    acc = null;
    counter = s.counter ?? 0;
  };
  const zeros = (): TensorMap => new Map(layout.map((p) => [p.name, { shape: [...p.shape], data: new Float32Array(p.size) }]));
  const initial = o.adapter
    ? new Map([...o.adapter.init(o.source, o.seed)].map(([n, d]) => [n, { shape: [...layout.find((p) => p.name === n)!.shape], data: d }]))
    : initLora(spec, o.lora, o.seed);
  await setState({ lora: initial, m: zeros(), v: zeros() });

  // The positions and the mask depend on the shapes alone: made once, fed to every run.
  const positions: HostTensor = { dtype: 'int32', shape: [B, T], data: positionRange(B, T, P) };
  const attnMask: HostTensor = { dtype: 'float32', shape: [B, 1, 1, T, P + T], data: P ? prefixCausalMask(B, T, P) : causalMask(B, T) };
  const batchFeeds = (b: TokenBatch): { feeds: Record<string, Feed>; tokens: number } => {
    if (b.batch !== B || b.seqLen !== T) throw new Error(`batch [${b.batch}, ${b.seqLen}] does not match the session's [${B}, ${T}]`);
    const sh = shiftLabels(b.labels, B, T);
    const feeds: Record<string, Feed> = {
      [FLAT]: params,
      input_ids: { dtype: 'int32', shape: [B, T], data: b.inputIds },
      positions,
      attn_mask: attnMask,
      targets: { dtype: 'int32', shape: [B * T], data: sh.targets },
      target_weights: { dtype: 'float32', shape: [B * T], data: sh.weights },
    };
    if (!o.adapter && o.lora.dropout > 0) addDropout(feeds, counter++);
    return { feeds, tokens: sh.count };
  };
  // Masks come from (seed, micro-step), not from a running generator, so a resumed run draws the same.
  const addDropout = (feeds: Record<string, Feed>, micro: number) => {
    const rng = new SeededRng(deriveSeed(o.seed, 0xd0 + micro * 7919));
    const keep = 1 / (1 - o.lora.dropout);
    for (const s of slots) {
      const n = B * T * s.shapeA[1];
      const mask = new Float32Array(n);
      for (let i = 0; i < n; i++) mask[i] = rng.next() < o.lora.dropout ? 0 : keep;
      feeds[`dropout.${s.layer}.${s.target}`] = { dtype: 'float32', shape: [B * T, s.shapeA[1]], data: mask };
    }
  };
  const optimizerFeeds = (f: Record<string, Feed>, hp: AdamWHyper, tokens: number) => {
    const vals = adamwScalars(hp, tokens);
    for (const k of ADAMW_SCALARS) f[`adamw.${k}`] = { dtype: 'float32', shape: [], data: Float32Array.of(vals[k]) };
    f[`m.${FLAT}`] = m;
    f[`v.${FLAT}`] = v;
  };
  const adopt = async (out: Record<string, Feed>) => {
    const next = [out.new_lora, out.new_m, out.new_v];
    await putState(next);
    if (captured) dispose(...next);
    dispose(acc);
    acc = null;
  };
  let capture: Promise<StepCapture | null> | null = null;
  /** The captured step, opened at the first step() over the step graph's saved files; null where it cannot be. */
  const stepCapture = (feeds: Record<string, Feed>): Promise<StepCapture | null> => {
    capture ??= openStepCapture({
      device,
      graph: stepGraph('step', false),
      feeds,
      state: () => ({ params, m, v }) as StepState,
      resident: residentFor,
      prefetch: prefetchResident,
      built: () => releaseHostWeights(o.source),
    }).then((c) => (captured = c));
    return capture;
  };
  const scalarOut = (t: Feed) => (t as HostTensor).data[0] as number;

  return {
    device,
    spec,
    async accumulate(b) {
      const { feeds, tokens } = batchFeeds(b);
      const s = await sessionFor('grads', true, feeds);
      // The first micro-batch multiplies whatever it is given by acc_keep = 0.
      feeds.acc = acc ?? params;
      feeds.acc_keep = { dtype: 'float32', shape: [], data: Float32Array.of(acc ? 1 : 0) };
      const out = await s.run(feeds);
      dispose(acc);
      acc = out.grad;
      return { lossSum: scalarOut(out.loss_sum), tokens };
    },
    async apply(hp, tokens) {
      if (!acc) throw new Error('apply() without accumulated gradients');
      const s = await session('apply', false);
      const feeds: Record<string, Feed> = { [FLAT]: params, acc };
      optimizerFeeds(feeds, hp, tokens);
      const out = await s.run(feeds);
      await adopt(out);
      return { gradNorm: scalarOut(out.grad_norm) };
    },
    async step(b, hp) {
      const { feeds, tokens } = batchFeeds(b);
      optimizerFeeds(feeds, hp, tokens);
      const cap = await stepCapture(feeds);
      if (cap) return { ...(await cap.step(feeds)), tokens };
      const s = await sessionFor('step', false, feeds);
      const out = await s.run(feeds);
      const lossSum = scalarOut(out.loss_sum);
      await adopt(out);
      return { lossSum, tokens, gradNorm: scalarOut(out.grad_norm) };
    },
    async evalLoss(b) {
      const { feeds, tokens } = batchFeeds(b);
      for (const k of Object.keys(feeds)) if (k.startsWith('dropout.')) delete feeds[k];
      const s = await sessionFor('loss', false, feeds);
      const out = await s.run(feeds);
      return { lossSum: scalarOut(out.loss_sum), tokens };
    },
    async getState() {
      const [p, mm, vv] = await toHostAll([params, m, v], device);
      return {
        lora: unflatten(layout, p.data as Float32Array),
        m: unflatten(layout, mm.data as Float32Array),
        v: unflatten(layout, vv.data as Float32Array),
        counter,
      };
    },
    setState,
    async dispose() {
      captured?.release();
      dispose(params, m, v, acc);
      if (residentFeeds) dispose(...Object.values(await residentFeeds.catch(() => ({}))));
      await residentSession?.release();
      for (const s of sessions.values()) await (await s).release();
      sessions.clear();
    },
  };
}
