/**
 * The fused decode graph's GPU-only forms, and the names they add to its session key: split-K projections
 * (nodes.ts, projectionSlices) and ORT's fused 4-bit decode ops (nbits-blocks.ts). The CPU EP gets neither: its
 * one-row MatMul needs no slicing, and it has no kernels for the fused 4-bit ops. The environment variables are
 * for measurements (docs/gpu-speed.md, eighth pass).
 */
import type { DecodePrecision } from '../decode-precision.js';
import type { DeviceInfo } from '../../runtime/device.js';
import type { FusedDecodeGraphOpts } from '../fused-decode-graph.js';
import { streamWidth } from './nodes.js';

export type GpuForms = Pick<FusedDecodeGraphOpts, 'splitK' | 'splitKAll' | 'loraSplitK' | 'argmaxParts' | 'nbitsFusion' | 'padStream'> & { key: string };

export function gpuForms(device: DeviceInfo): GpuForms {
  if (device.kind !== 'webgpu') return { splitK: 0, splitKAll: false, loraSplitK: 0, argmaxParts: true, nbitsFusion: false, padStream: false, key: 'sk0|' };
  const env = process.env;
  // Workgroups a one-row split-K MatMul aims at: 1,024, about 8 a compute unit of an H200. GRAFT_SPLITK=0: plain
  // MatMuls. Every projection slices fit is split (session 15, captured, 0.5B: one row +13%, 4 rows +9% against
  // splitting only the long-K, few-workgroup ones, once a split weight is read once for all rows);
  // GRAFT_SPLITK_ALL=0 splits only those (projectionSlices), the default before. Its cost: a long prefill holds
  // every split projection's partial results (docs/gpu-speed.md, thirteenth pass: ~4.3 GB kept by the EP's cache
  // after 4 rows of a 2,048-token prompt at 0.5B, against ~1.1 GB).
  const splitK = Math.max(0, Math.floor(Number(env.GRAFT_SPLITK ?? 1024)) || 0);
  const splitKAll = env.GRAFT_SPLITK_ALL !== '0';
  // The adapter rows' x·Aᵀ (fused-lora.ts, loraSlices): GRAFT_LORA_SPLITK=0 leaves it one batched MatMul.
  const loraSplitK = Math.max(0, Math.floor(Number(env.GRAFT_LORA_SPLITK ?? splitK)) || 0);
  // The argmax's row maximum in two reductions (nodes.ts, rowMax): GRAFT_ARGMAX_PARTS=0 one ReduceMax a row.
  const argmaxParts = env.GRAFT_ARGMAX_PARTS !== '0';
  // The MLP op by default: the H200 probe timed its kernel at 7.3 µs for a 896 → 4,864 gate and up, where the
  // unfused path took ~80. The qkv op's kernel was not timed: GRAFT_NBITS_FUSION=all adds it, =0 leaves both out.
  const nbitsFusion = env.GRAFT_NBITS_FUSION === '0' ? false : env.GRAFT_NBITS_FUSION === 'all' ? true : 'mlp';
  // The residual stream a multiple of 256 wide (nodes.ts, streamWidth); GRAFT_PAD_STREAM=0 keeps the hidden size.
  const padStream = env.GRAFT_PAD_STREAM !== '0';
  return { splitK, splitKAll, loraSplitK, argmaxParts, nbitsFusion, padStream, key: `sk${splitK}${splitKAll ? 'all' : ''}|lsk${loraSplitK}${argmaxParts ? '' : '|amax1'}|${nbitsFusion ? `nbf${nbitsFusion}` : ''}${padStream ? '' : '|nopad'}` };
}

/**
 * The residual stream's width in the fused graph: padded where the forms ask for it and the base is not packed
 * (the 4-bit ops take the hidden size as their K, and norm inside).
 */
export function fusedStreamWidth(hidden: number, padStream: boolean | undefined, packed: boolean): number {
  return padStream && !packed ? streamWidth(hidden) : hidden;
}

/**
 * Whether the fused graph runs in fp16 (weights, activations, KV caches; the logits cast to fp32 at the end), for
 * the generation option `precision`. Only on the GPU (the CPU EP has no fast fp16 kernels) and on a float base (a
 * 4-bit base's ops take fp32 activations). 'auto' is fp16 there, for every kind of row: on an H200 (captured,
 * alternating in one process) the base alone went 214-220 → 242-252 tok/s at 0.5B and 151 → 178 at 1.5B
 * (session 21), 4 adapter rows 166-167 → 187 a row at 0.5B and 111 → 129 at 1.5B, one adapter row 173-174 →
 * 193-195 and 116-117 → 133-134 (session 22, call L). Session 21's call R had adapter rows slower in fp16 on a
 * machine where every arm ran slow (replays' host time twice call L's); call L, two rounds at two sizes, decided.
 * GRAFT_DECODE_FP16=1 or 0 decides 'auto' instead (measurements).
 */
export function fusedHalf(precision: DecodePrecision, device: DeviceInfo, packed: boolean): boolean {
  if (device.kind !== 'webgpu' || packed || precision === 'fp32') return false;
  if (precision === 'fp16') return true;
  return process.env.GRAFT_DECODE_FP16 !== '0';
}
