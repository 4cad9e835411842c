/**
 * StepRunner over the training graphs: LoRA weights, AdamW moments and accumulated gradients live
 * where the sessions run (GPU buffers on WebGPU) and are fed from one run's outputs into the next.
 * Only the loss and the gradient norm are read back each step.
 */
import { type LoraConfig } from '../adapters/lora-config.js';
import { loraSlots } from '../adapters/lora.js';
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { WeightSource } from '../io/model-source.js';
import { specFromConfig } from '../models/index.js';
import type { ModelSpec } from '../models/spec.js';
import type { WeightsFactory } from '../models/weights.js';
import { resolveDevice, type DeviceInfo, type DevicePref } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { Feed, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll } from '../runtime/transfer.js';
import { ADAMW_SCALARS, adamwScalars } from './adamw.js';
import { causalMask, positionRange, shiftLabels } from './loss.js';
import { accName, buildStepGraph, gradName, newM, newName, newV, type StepPurpose } from './step-graph.js';
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
    out.set(s.peftA, { shape: s.shapeA, data: Float32Array.from({ length: s.shapeA[0] * s.shapeA[1] }, () => (rng.next() * 2 - 1) * bound) });
    out.set(s.peftB, { shape: s.shapeB, data: new Float32Array(s.shapeB[0] * s.shapeB[1]) });
  }
  return out;
}

export async function createStepRunner(o: StepRunnerOpts): Promise<FusedStepRunner> {
  const spec = o.spec ?? specFromConfig(o.source.config, o.source.path);
  const device = await resolveDevice(o.device);
  const { batch: B, seqLen: T } = o;
  const sessions = new Map<string, Promise<GraphSession>>();
  const session = (purpose: StepPurpose, accumulate: boolean) => {
    const key = `${purpose}${accumulate ? '+acc' : ''}`;
    let s = sessions.get(key);
    if (!s) {
      const sg = buildStepGraph({ spec, source: o.source, lora: o.lora, batch: B, seq: T, purpose, accumulate, weights: o.weights });
      const keep = sg.graph.outputs.map((v) => v.name).filter((n) => n !== 'loss_sum' && n !== 'grad_norm');
      s = GraphSession.create(sg.graph, { device, keepOnDevice: keep });
      sessions.set(key, s);
    }
    return s;
  };

  const slots = loraSlots(spec, o.lora);
  const names = slots.flatMap((s) => [s.peftA, s.peftB]);
  const shapes = new Map(slots.flatMap((s) => [[s.peftA, s.shapeA], [s.peftB, s.shapeB]] as [string, number[]][]));
  let params = new Map<string, Feed>();
  let m = new Map<string, Feed>();
  let v = new Map<string, Feed>();
  let acc: Map<string, Feed> | null = null;
  let counter = 0;

  const upload = async (t: TensorMap) => {
    const hosts: HostTensor[] = names.map((n) => ({ dtype: 'float32', shape: t.get(n)!.shape, data: t.get(n)!.data }));
    const dev = await toDeviceAll(hosts, device);
    return new Map(names.map((n, i) => [n, dev[i]]));
  };
  const zeros = (): TensorMap => new Map(names.map((n) => [n, { shape: shapes.get(n)!, data: new Float32Array(shapes.get(n)!.reduce((a, b) => a * b, 1)) }]));
  const setState = async (s: TrainerState) => {
    params = await upload(s.lora);
    m = await upload(s.m);
    v = await upload(s.v);
    acc = null;
    counter = s.counter ?? 0;
  };
  await setState({ lora: initLora(spec, o.lora, o.seed), m: zeros(), v: zeros() });

  const batchFeeds = (b: TokenBatch): { feeds: Record<string, Feed>; tokens: number } => {
    if (b.batch !== B || b.seqLen !== T) throw new Error(`batch [${b.batch}, ${b.seqLen}] does not match the session's [${B}, ${T}]`);
    const sh = shiftLabels(b.labels, B, T);
    const feeds: Record<string, Feed> = {
      input_ids: { dtype: 'int32', shape: [B, T], data: b.inputIds },
      positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
      attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
      targets: { dtype: 'int32', shape: [B * T], data: sh.targets },
      target_weights: { dtype: 'float32', shape: [B * T], data: sh.weights },
    };
    for (const n of names) feeds[n] = params.get(n)!;
    if (o.lora.dropout > 0) addDropout(feeds, b, counter++);
    return { feeds, tokens: sh.count };
  };
  // Masks come from (seed, micro-step), not from a running generator, so a resumed run draws the same.
  const addDropout = (feeds: Record<string, Feed>, _b: TokenBatch, micro: number) => {
    const rng = new SeededRng(deriveSeed(o.seed, 0xd0 + micro * 7919));
    const keep = 1 / (1 - o.lora.dropout);
    for (const s of slots) {
      const n = B * T * s.shapeA[1];
      const mask = new Float32Array(n);
      for (let i = 0; i < n; i++) mask[i] = rng.next() < o.lora.dropout ? 0 : keep;
      feeds[`dropout.${s.layer}.${s.target}`] = { dtype: 'float32', shape: [B * T, s.shapeA[1]], data: mask };
    }
  };
  const scalarFeeds = (hp: AdamWHyper, tokens: number) => {
    const vals = adamwScalars(hp, tokens);
    return Object.fromEntries(ADAMW_SCALARS.map((k) => [`adamw.${k}`, { dtype: 'float32', shape: [], data: Float32Array.of(vals[k]) } as HostTensor]));
  };
  const optimizerFeeds = (f: Record<string, Feed>) => {
    for (const n of names) {
      f[`m.${n}`] = m.get(n)!;
      f[`v.${n}`] = v.get(n)!;
    }
  };
  const adopt = (out: Record<string, Feed>) => {
    for (const t of [...params.values(), ...m.values(), ...v.values(), ...(acc?.values() ?? [])]) if ('dispose' in t) t.dispose();
    params = new Map(names.map((n) => [n, out[newName(n)]]));
    m = new Map(names.map((n) => [n, out[newM(n)]]));
    v = new Map(names.map((n) => [n, out[newV(n)]]));
    acc = null;
  };
  const scalarOut = (t: Feed) => (t as HostTensor).data[0] as number;

  const readMaps = async (maps: Map<string, Feed>[]): Promise<TensorMap[]> => {
    const flat = await toHostAll(maps.flatMap((mp) => names.map((n) => mp.get(n)!)), device);
    return maps.map((_, k) => new Map(names.map((n, i) => [n, { shape: shapes.get(n)!, data: Float32Array.from(flat[k * names.length + i].data as Float32Array) }])));
  };

  return {
    device,
    spec,
    async accumulate(b) {
      const { feeds, tokens } = batchFeeds(b);
      const s = await session('grads', true);
      for (const n of names) feeds[accName(n)] = acc?.get(n) ?? params.get(n)!;
      feeds.acc_keep = { dtype: 'float32', shape: [], data: Float32Array.of(acc ? 1 : 0) };
      const out = await s.run(feeds);
      if (acc) for (const t of acc.values()) if ('dispose' in t) t.dispose();
      acc = new Map(names.map((n) => [n, out[gradName(n)]]));
      return { lossSum: scalarOut(out.loss_sum), tokens };
    },
    async apply(hp, tokens) {
      if (!acc) throw new Error('apply() without accumulated gradients');
      const s = await session('apply', false);
      const feeds: Record<string, Feed> = { ...scalarFeeds(hp, tokens) };
      for (const n of names) {
        feeds[n] = params.get(n)!;
        feeds[accName(n)] = acc.get(n)!;
      }
      optimizerFeeds(feeds);
      const out = await s.run(feeds);
      adopt(out);
      return { gradNorm: scalarOut(out.grad_norm) };
    },
    async step(b, hp) {
      const { feeds, tokens } = batchFeeds(b);
      const s = await session('step', false);
      Object.assign(feeds, scalarFeeds(hp, tokens));
      optimizerFeeds(feeds);
      const out = await s.run(feeds);
      const lossSum = scalarOut(out.loss_sum);
      adopt(out);
      return { lossSum, tokens, gradNorm: scalarOut(out.grad_norm) };
    },
    async evalLoss(b) {
      const { feeds, tokens } = batchFeeds(b);
      for (const k of Object.keys(feeds)) if (k.startsWith('dropout.')) delete feeds[k];
      const out = await (await session('loss', false)).run(feeds);
      return { lossSum: scalarOut(out.loss_sum), tokens };
    },
    async getState() {
      const [lora, mm, vv] = await readMaps([params, m, v]);
      return { lora, m: mm, v: vv, counter };
    },
    setState,
    async dispose() {
      for (const s of sessions.values()) await (await s).release();
      sessions.clear();
    },
  };
}
