/**
 * Issue 13 item 5: QLoRA at Llama-3.1-8B's shapes without an 8B model on disk. The quantized store
 * (NF4 with double-quantized absmax, or int4) is made of random codes directly: a training step's work
 * does not depend on the values, and no 32 GB fp32 model has to exist to be quantized first. The
 * embeddings and LM head are held as the engine holds a quantized base's tables (fp16-rounded values
 * in fp32, the default, or 8-bit blocks with `--embeddings int8`), tiled from a random block so no
 * per-element loop runs over the 525 M-entry tables. LoRA r=16 on all 7 projections, batch 1 × 1024.
 *
 * Reported: tokens/s of the steps after the first, the first step's seconds (session creation), the
 * engine's own memory estimate (the one the Train form shows), and the GPU memory this process used
 * as read by the Vulkan memory-budget probe (bench/gpu-memory.ts), with the process's RSS.
 *
 *   node .gpu/gpu-explore.cjs qlora8b [--shape llama3.1-8b|qwen2.5-1.5b|qwen2.5-0.5b|tiny] [--layers N]
 *     [--scheme nf4|int4] [--embeddings fp16|int8] [--precision fp32|fp16] [--checkpoint] [--build-only] [--batch 1] [--seq 1024] [--steps 4] [--device gpu|cpu]
 */
import { randomFillSync } from 'node:crypto';
import { liveBytes, ortDefaultOrder, simpleCachePool } from '../src-main/engine/graph/live-bytes.js';
import { LORA_TARGETS, type LoraConfig } from '../src-main/engine/adapters/lora-config.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import { f16ToF32 } from '../src-main/engine/io/half.js';
import type { WeightSource } from '../src-main/engine/io/model-source.js';
import type { WeightsFactory } from '../src-main/engine/models/weights.js';
import { tensorSchemeOf } from '../src-main/engine/quant/kinds.js';
import {
  EMBEDDING_TABLES,
  NF4_ABSMAX_BLOCK,
  NF4_BLOCK,
  QUANTIZED_LINEAR,
  quantWeightsFactory,
  storeFootprint,
  type QuantScheme,
  type QuantStore,
  type QuantTensor,
} from '../src-main/engine/quant/index.js';
import { INT8_BLOCK } from '../src-main/engine/quant/int8.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { createTimings } from '../src-main/engine/runtime/session.js';
import { estimateForSource } from '../src-main/engine/train/memory-estimate.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';
import { buildStepGraph } from '../src-main/engine/train/step-graph.js';
import { serializeModel } from '../src-main/engine/graph/onnx-writer.js';
import { specFromConfig } from '../src-main/engine/models/index.js';
import { commit, machine } from './common.js';
import { GpuMemoryUnavailable, openGpuMemoryProbe, peakSampler, startSamplerThread } from './gpu-memory.js';
import { PACKED_SHAPES, syntheticSource } from './packed-decode.js';

export const QLORA_SHAPES: Record<string, HfConfig> = {
  ...PACKED_SHAPES,
  // The same path at a size lavapipe runs in seconds (checks the bench before a GPU call).
  tiny: {
    ...PACKED_SHAPES['llama3.1-8b'],
    hidden_size: 256,
    intermediate_size: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 2048,
  },
};

export interface QloraBigOpts {
  shape: string;
  layers?: number;
  scheme: QuantScheme;
  embeddings: 'fp16' | 'int8';
  /** The engine's `precision` option: 4-bit weights multiplied in fp32, or dequantized to fp16 and multiplied in fp16. */
  precision?: 'fp32' | 'fp16';
  /** Activation checkpointing (the engine's `recomputeActivations` option): each layer's values recomputed in the backward. */
  checkpoint?: boolean;
  batch: number;
  seq: number;
  steps: number;
  device: DevicePref;
  /** Build and serialize the step graph only (no session, no step): the engine's host side at full shape. */
  buildOnly?: boolean;
  /** How to start a GPU memory sampler thread (bench/gpu-memory.ts startSamplerThread): the bundle's entry and its argv. */
  samplerThread?: { script: string; argv: string[] };
}

const MB = 2 ** 20;
const round = (x: number, d = 1) => +x.toFixed(d);

/** Random codes in the store's formats, with scales that put the weights in about ±0.03 (a trained layer's range). */
function randomTensor(kind: QuantScheme | 'int8', shape: [number, number]): QuantTensor {
  const [N, K] = shape;
  const scheme = kind === 'int8' ? kind : tensorSchemeOf(kind); // random codes at zero point 8 are symmetric already
  if (scheme === 'nf4') {
    const blocks = Math.ceil((N * K) / NF4_BLOCK);
    const groups = Math.ceil(blocks / NF4_ABSMAX_BLOCK);
    // absmax = E4M3_UNIT[0] (= 0) · scale + offset: every block's absmax is the offset, 0.03
    return {
      scheme,
      shape,
      codes: randomFillSync(new Uint8Array(Math.ceil((blocks * NF4_BLOCK) / 2))),
      absmaxCodes: new Uint8Array(blocks),
      absmaxScale: new Float32Array(groups).fill(1),
      absmaxOffset: 0.03,
    };
  }
  const block = scheme === 'int4' ? 32 : INT8_BLOCK;
  const nb = Math.ceil(K / block);
  if (scheme === 'int4')
    return {
      scheme,
      shape,
      b: randomFillSync(new Uint8Array(N * nb * 16)),
      scalesF16: new Uint16Array(N * nb).fill(0x1c00),
      zeroPoints: new Uint8Array(N * Math.ceil(nb / 2)).fill(0x88),
    };
  // 8-bit table: scale ≈ 0.00024 (fp16 0x0BE0), zero point 128
  return {
    scheme,
    shape,
    b: randomFillSync(new Uint8Array(N * nb * INT8_BLOCK)),
    scalesF16: new Uint16Array(N * nb).fill(0x0be0),
    zeroPoints: new Uint8Array(N * nb).fill(128),
  };
}

/** fp16-exact values in about ±0.03, a random block repeated (copies, not a per-element loop over the table). */
export function tiledHalfTable(n: number): Float32Array {
  const bits = randomFillSync(new Uint16Array(1 << 20));
  const block = new Float32Array(bits.length);
  // sign and mantissa from the random bits, biased exponent 5..9: magnitudes 2^-10 .. 2^-5
  for (let i = 0; i < bits.length; i++) block[i] = f16ToF32((bits[i] & 0x83ff) | ((5 + ((bits[i] >> 10) % 5)) << 10));
  const out = new Float32Array(n);
  for (let o = 0; o < n; o += block.length) out.set(block.subarray(0, Math.min(block.length, n - o)), o);
  return out;
}

/** The quantized base of a synthetic source: every projection random, tables per `embeddings`. */
export function randomBase(
  source: WeightSource,
  scheme: QuantScheme,
  embeddings: 'fp16' | 'int8',
  precision: 'fp32' | 'fp16' = 'fp32',
): { store: QuantStore; weights: WeightsFactory; tableBytes: number } {
  const store = new Map<string, QuantTensor>();
  const tables = new Map<string, Float32Array>();
  let tableBytes = 0;
  for (const n of source.names()) {
    const shape = source.shape(n) as [number, number];
    if (QUANTIZED_LINEAR.test(n)) store.set(n, randomTensor(scheme, shape));
    else if (EMBEDDING_TABLES.includes(n)) {
      const t = embeddings === 'int8' ? randomTensor('int8', shape) : null;
      if (t && t.scheme === 'int8') {
        store.set(n, t);
        tableBytes += t.b.byteLength + t.scalesF16.byteLength + t.zeroPoints.byteLength;
      } else {
        tables.set(n, tiledHalfTable(shape[0] * shape[1]));
        tableBytes += shape[0] * shape[1] * 4;
      }
    }
  }
  const quant = quantWeightsFactory(store, { half: precision === 'fp16' });
  // The tables enter as overrides: QuantWeights would otherwise read and fp16-round them from the source.
  const weights: WeightsFactory = (g, s, dtype, overrides) => quant(g, s, dtype, new Map([...tables, ...(overrides ?? [])]));
  return { store, weights, tableBytes };
}

export async function qloraBig(o: QloraBigOpts) {
  const base = QLORA_SHAPES[o.shape];
  if (!base) throw new Error(`qlora8b: no shape ${o.shape} (${Object.keys(QLORA_SHAPES).join(', ')})`);
  const config: HfConfig = { ...base, num_hidden_layers: o.layers ?? base.num_hidden_layers };
  const device = await resolveDevice(o.device);
  let probe = null,
    probeError: string | null = null;
  try {
    probe = o.device === 'cpu' ? null : await openGpuMemoryProbe();
  } catch (e) {
    if (!(e instanceof GpuMemoryUnavailable)) throw e;
    probeError = e.message;
  }
  const thread = probe && o.samplerThread ? startSamplerThread(o.samplerThread.script, o.samplerThread.argv) : undefined;
  const sampler = probe ? peakSampler(probe, 50, thread) : null;
  const rss = () => round(process.memoryUsage().rss / MB, 0);
  const marks: { at: string; s: number; rss_mb: number; gpu_mb?: number }[] = [];
  const t0 = performance.now();
  const mark = (at: string) => {
    const gpu = sampler?.mark(at);
    marks.push({
      at,
      s: round((performance.now() - t0) / 1000, 2),
      rss_mb: rss(),
      ...(gpu !== undefined ? { gpu_mb: round(gpu / MB, 0) } : {}),
    });
    // progress as it happens: a run stopped by a time limit still says how far it got
    console.error(`[qlora8b] ${JSON.stringify(marks.at(-1))}`);
  };
  mark('start');

  const source = syntheticSource(config, o.shape);
  const precision = o.precision ?? 'fp32';
  const { store, weights, tableBytes } = randomBase(source, o.scheme, o.embeddings, precision);
  const fp = storeFootprint(store);
  mark('store built');
  const lora: LoraConfig = { r: 16, alpha: 32, dropout: 0, rslora: false, targets: [...LORA_TARGETS] };
  const estimate = estimateForSource(source, {
    method: 'qlora',
    lora,
    batch: o.batch,
    seqLen: o.seq,
    recomputeActivations: o.checkpoint,
    onGpu: o.device === 'gpu',
  });
  if (o.buildOnly) return buildOnly(source, config, lora, weights, o, fp.bytes, tableBytes, estimate.total, mark, marks);
  createTimings.splice(0);
  const runner = await createStepRunner({
    source,
    lora,
    device: o.device,
    batch: o.batch,
    seqLen: o.seq,
    seed: 1,
    weights,
    recomputeActivations: o.checkpoint,
  });
  mark('runner created');
  const V = config.vocab_size;
  const ids = Int32Array.from({ length: o.batch * o.seq }, (_, i) => 1 + ((i * 7919) % (V - 1)));
  const batch = { inputIds: ids, labels: ids, batch: o.batch, seqLen: o.seq };
  const hp = (step: number) => ({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step, maxGradNorm: 1 });
  const stepMs: number[] = [];
  const losses: number[] = [];
  for (let s = 1; s <= o.steps; s++) {
    const t = performance.now();
    const r = await runner.step(batch, hp(s));
    stepMs.push(performance.now() - t);
    losses.push(round(r.lossSum / r.tokens, 4));
    mark(`step ${s}`);
  }
  const sessions = createTimings.splice(0);
  await runner.dispose();
  mark('disposed');
  const gpu = sampler?.stop();
  probe?.close();
  const later = stepMs.slice(1).sort((a, b) => a - b);
  const median = later.length ? later[Math.floor(later.length / 2)] : NaN;
  const GB = 1e9;
  return {
    bench: 'qlora-8b',
    model: o.shape,
    what: `QLoRA ${o.scheme} base of random codes at ${o.shape} shapes multiplied in ${precision}, ${o.embeddings} tables, LoRA r=16 on 7 projections, AdamW; batch ${o.batch} × ${o.seq}`,
    device: `${device.ep}: ${device.name}`,
    date: new Date().toISOString(),
    commit: commit(),
    machine: machine(),
    shape: {
      name: o.shape,
      layers: config.num_hidden_layers,
      hidden: config.hidden_size,
      mlp: config.intermediate_size,
      heads: config.num_attention_heads,
      kv_heads: config.num_key_value_heads,
      vocab: V,
      tied: !!config.tie_word_embeddings,
      rope_theta: config.rope_theta,
    },
    scheme: o.scheme,
    embeddings: o.embeddings,
    precision,
    checkpoint: !!o.checkpoint,
    batch: o.batch,
    seq: o.seq,
    base_gb: { projections: round(fp.bytes / GB, 3), projection_params: fp.params, tables: round(tableBytes / GB, 3) },
    first_step_s: round(stepMs[0] / 1000, 2),
    later_step_ms: stepMs.slice(1).map((x) => round(x, 0)),
    train_tokens_per_s: Number.isFinite(median) ? round((o.batch * o.seq) / (median / 1000), 0) : null,
    losses,
    sessions,
    estimate_gb: {
      total: round(estimate.total / GB, 2),
      weights: round(estimate.weights / GB, 2),
      activations: round(estimate.activations / GB, 2),
      optimizer: round(estimate.optimizer / GB, 3),
      overhead: round(estimate.overhead / GB, 2),
      // the figure the Train form shows for a GPU run, to set beside gpu_memory.peak_gb
      ...(estimate.gpu !== undefined ? { gpu: round(estimate.gpu / GB, 2) } : {}),
    },
    gpu_memory: gpu
      ? {
          probe: `VK_EXT_memory_budget heapUsage of the device-local heaps, sampled after each phase and ${gpu.thread ? `every 20 ms by a thread (${gpu.thread.samples} samples${gpu.thread.error ? `, failed: ${gpu.thread.error}` : ''})` : 'between runs only (no sampler thread)'} (${probe!.scope === 'process' ? "this process's usage" : "lavapipe: the machine's used RAM"})`,
          vulkan_device: probe!.device.name,
          max_storage_buffer_range: probe!.device.maxStorageBufferRange,
          scope: probe!.scope,
          baseline_gb: round(gpu.baseline / GB, 2),
          peak_gb: round(gpu.peak / GB, 2),
          peak_above_baseline_gb: round((gpu.peak - gpu.baseline) / GB, 2),
        }
      : { unavailable: probeError ?? 'not sampled on the CPU EP' },
    rss_peak_gb: round((process.resourceUsage().maxRSS * 1024) / GB, 2),
    marks,
  };
}

/** The step graph at full shape built and serialized (what session creation starts from), with its largest tensors. */
function buildOnly(
  source: WeightSource,
  config: HfConfig,
  lora: LoraConfig,
  weights: WeightsFactory,
  o: QloraBigOpts,
  projBytes: number,
  tableBytes: number,
  estimate: number,
  mark: (at: string) => void,
  marks: object[],
) {
  const t = performance.now();
  const { graph } = buildStepGraph({
    spec: specFromConfig(config, source.path),
    source,
    lora,
    batch: o.batch,
    seq: o.seq,
    purpose: 'step',
    weights,
    recomputeActivations: o.checkpoint,
  });
  const buildMs = performance.now() - t;
  mark('graph built');
  // the step's intermediates at their peak if each were freed after its last reader (graph/live-bytes.ts)
  const live = liveBytes(graph);
  const live_gb = {
    peak: round(live.peak / 1e9, 2),
    initializers: round(live.initializers / 1e9, 2),
    inputs: round(live.inputs / 1e9, 2),
    allocated_in_a_run: round(live.allocated / 1e9, 2),
    at_node: `${live.peakAt}/${graph.nodes.length}`,
    largest_at_peak_mb: live.atPeak.map((v) => `${v.op} ${v.name} ${round(v.bytes / MB, 0)}`),
    // the same graph in the order ORT's default plan runs it
    ...(() => {
      const order = ortDefaultOrder(graph);
      const ort = liveBytes(graph, 8, order);
      // the EP flushes (making released buffers reusable) every 16 kernels by default; larger spans for comparison
      const runs = new Map([16, 64, 256, 1024].map((f) => [f, simpleCachePool(graph, order, f)]));
      const by = [...runs.get(256)!.bySize].sort((a, b) => b[0] * b[1].count - a[0] * a[1].count).slice(0, 10);
      const pools = {
        ...Object.fromEntries([...runs].map(([f, r]) => [`flush_every_${f}`, round(r.created / 1e9, 2)])),
        largest_sizes_at_256: by.map(([size, b]) => `${round(size / MB, 1)} MB × ${b.count} (${[...b.ops].join(',')})`),
      };
      return { peak_in_ort_order: round(ort.peak / 1e9, 2), simple_cache_pool: pools, largest_at_ort_peak_mb: ort.atPeak.map((v) => `${v.op} ${v.name} ${round(v.bytes / MB, 0)}`) };
    })(),
  };
  console.error(`[qlora8b] ${JSON.stringify({ live_gb })}`);
  const t1 = performance.now();
  const ser = serializeModel(graph);
  const serializeMs = performance.now() - t1;
  mark('serialized');
  const sizes = ser.external.map((f) => f.bytes.byteLength).sort((a, b) => b - a);
  return {
    bench: 'qlora-8b (build only)',
    shape: o.shape,
    layers: config.num_hidden_layers,
    scheme: o.scheme,
    embeddings: o.embeddings,
    nodes: graph.nodes.length,
    build_s: round(buildMs / 1000, 1),
    serialize_s: round(serializeMs / 1000, 1),
    model_proto_mb: round(ser.model.byteLength / MB, 1),
    live_gb,
    external_files: sizes.length,
    external_gb: round(sizes.reduce((a, b) => a + b, 0) / 1e9, 2),
    largest_mb: sizes.slice(0, 4).map((b) => round(b / MB, 0)),
    base_gb: { projections: round(projBytes / 1e9, 3), tables: round(tableBytes / 1e9, 3) },
    estimate_gb: round(estimate / 1e9, 2),
    rss_peak_gb: round((process.resourceUsage().maxRSS * 1024) / 1e9, 2),
    marks,
  };
}
