/**
 * The shared Llama-family decoder: embedding, N blocks of (RMSNorm, attention with RoPE and GQA,
 * RMSNorm, SwiGLU MLP) with residuals, final norm and LM head. Activations are kept 2-D [B·T, D] so
 * every projection is one Gemm on the HF [out, in] weight; only attention reshapes to heads.
 * LoRA enters through `delta`, which returns what to add to a projection's output; the other adapter
 * methods (adapters/*.ts) through `hooks`: one that may rewrite a projection, one that prepends
 * key/value prefixes to a layer's attention, one that may replace a sub-block's residual add.
 */
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';
import type { LoraTarget } from '../adapters/lora-config.js';
import { ropeTables, rotateHalfMatrix } from './rope.js';
import type { ModelSpec } from './spec.js';
import type { GraphWeights } from './weights.js';

export type AdapterDelta = (layer: number, target: LoraTarget, x: Value) => Value | null;

/** A frozen projection as a rewrite hook sees it. */
export interface FrozenLinear {
  /** x·Wᵀ (+ bias unless `withBias` is false) for any [N, in] input. */
  apply(x: Value, withBias?: boolean): Value;
  /** The [out, in] weight (DoRA's weight norm needs it whole). */
  weight(): Value;
  bias: Value | null;
}

/** Per-block hooks of the non-LoRA adapter methods; each returns null where it leaves the block alone. */
export interface BlockHooks {
  /** Replaces a projection's output (IA³ scales it or its input, DoRA rescales it by a magnitude). */
  linear?: (layer: number, target: LoraTarget, x: Value, frozen: FrozenLinear) => Value | null;
  /**
   * Keys and values [B, KV, P, hd] placed before a layer's own (prefix tuning): they enter attention as
   * they are (no RoPE, no norm), and the mask must give the P extra columns first.
   */
  prefix?: (layer: number) => { k: Value; v: Value } | null;
  /**
   * Replaces a sub-block's residual add `residual + out` (bottleneck adapters): `out` is the attention's
   * o_proj output or the MLP's down_proj output, `residual` the stream that entered the sub-block.
   */
  residual?: (layer: number, where: 'attention' | 'mlp', out: Value, residual: Value) => Value | null;
}

export interface DecoderInputs {
  /** [B, T] int32 token ids. */
  ids: Value;
  /** [B, T] int32 absolute positions (for RoPE). */
  positions: Value;
  /** [B, 1, 1, T, S] additive attention mask (0 or a large negative), S = past + T. */
  mask: Value;
  /** Per layer, cached keys and values [B, KV, P, hd] from earlier steps, extended by concatenation. */
  past?: { k: Value; v: Value }[];
  /**
   * Per layer, a fixed-capacity cache [B, KV, C, hd] written in place at `writeIndex` ([B, KV, T, hd]
   * int32, each entry the position to write): shapes stay static, so one session serves every step.
   */
  cache?: { k: Value; v: Value }[];
  writeIndex?: Value;
  /** [B·T, D] residual stream entering `opts.layers.from`, in place of the embedded ids (layer-by-layer runs). */
  residual?: Value;
}

export interface DecoderOutputs {
  /** Final-normed hidden states [B·T, D] (the residual when `opts.layers` stops before the last layer). */
  hidden: Value;
  /** Per layer, keys and values including this step's [B, KV, S, hd] (the next step's past). */
  present: { k: Value; v: Value }[];
  /** [B·T, D] residual stream leaving the last layer run, before the final norm. */
  residual: Value;
}

export interface DecoderOpts {
  /** Length of the RoPE tables: the largest position + 1 the graph will see. */
  ropeLength: number;
  delta?: AdapterDelta;
  hooks?: BlockHooks;
  /** Run only layers [from, to) (default all): GPTQ calibration runs one layer at a time. */
  layers?: { from: number; to: number };
}

const layerName = (i: number, rest: string) => `model.layers.${i}.${rest}`;

export function rmsNorm(g: Graph, x: Value, weight: Value, eps: number): Value {
  const variance = op.reduceMean(g, op.square(g, x), [-1], true);
  const inv = op.reciprocal(g, op.sqrt(g, op.add(g, variance, op.scalar(g, eps, x.dtype))));
  return op.mul(g, op.mul(g, x, inv), weight);
}

export function decoderForward(w: GraphWeights, spec: ModelSpec, io: DecoderInputs, opts: DecoderOpts): DecoderOutputs {
  const g = w.g;
  const dt = w.dtype;
  const [B, T] = io.ids.shape;
  const N = B * T;
  const { heads: H, kvHeads: KV, headDim: hd } = spec;
  const G = H / KV;
  const tables = ropeTables(spec, opts.ropeLength);
  const asDt = (a: Float32Array) => (dt === 'float64' ? Float64Array.from(a) : a);
  const cosT = g.init('rope_cos', { dtype: dt, shape: [opts.ropeLength, hd], data: asDt(tables.cos) });
  const sinT = g.init('rope_sin', { dtype: dt, shape: [opts.ropeLength, hd], data: asDt(tables.sin) });
  const rot = g.init('rope_rotate_half', { dtype: dt, shape: [hd, hd], data: asDt(rotateHalfMatrix(hd)) });
  // q's tables carry the attention scale 1/√hd: scaling q inside RoPE costs no op, where scaling the
  // scores would be a pass over [B, H, T, S] in the forward and another in the backward.
  const scaled = (a: Float32Array) => asDt(a.map((x) => x / Math.sqrt(hd)));
  const cosTq = g.init('rope_cos_q', { dtype: dt, shape: [opts.ropeLength, hd], data: scaled(tables.cos) });
  const sinTq = g.init('rope_sin_q', { dtype: dt, shape: [opts.ropeLength, hd], data: scaled(tables.sin) });
  const cosQ = op.reshape(g, op.gather(g, cosTq, io.positions), [B, T, 1, 1, hd]);
  const sinQ = op.reshape(g, op.gather(g, sinTq, io.positions), [B, T, 1, 1, hd]);
  const cosK = op.reshape(g, op.gather(g, cosT, io.positions), [B, T, 1, hd]);
  const sinK = op.reshape(g, op.gather(g, sinT, io.positions), [B, T, 1, hd]);
  const rope = (x: Value, c: Value, s: Value) => op.add(g, op.mul(g, x, c), op.mul(g, op.matmul(g, x, rot), s));

  const linear = (x: Value, layer: number, target: LoraTarget, module: string, bias = false) => {
    const b = bias ? w.get(layerName(layer, `${module}.bias`)) : null;
    const name = layerName(layer, `${module}.weight`);
    const frozen: FrozenLinear = { apply: (xi, withBias = true) => w.linear(xi, name, withBias ? b : null), weight: () => w.get(name), bias: b };
    const y = opts.hooks?.linear?.(layer, target, x, frozen) ?? w.linear(x, name, b);
    const d = opts.delta?.(layer, target, x);
    return d ? op.add(g, y, d) : y;
  };

  let h = io.residual ?? op.reshape(g, w.embed(io.ids), [N, spec.hidden]);
  const present: { k: Value; v: Value }[] = [];
  const { from, to } = opts.layers ?? { from: 0, to: spec.layers };
  for (let i = from; i < to; i++) {
    const x = rmsNorm(g, h, w.get(layerName(i, 'input_layernorm.weight')), spec.eps);
    let q = op.reshape(g, linear(x, i, 'q', 'self_attn.q_proj', spec.qkvBias), [B, T, KV, G, hd]);
    let k = op.reshape(g, linear(x, i, 'k', 'self_attn.k_proj', spec.qkvBias), [B, T, KV, hd]);
    const v = op.reshape(g, linear(x, i, 'v', 'self_attn.v_proj', spec.qkvBias), [B, T, KV, hd]);
    if (spec.qkNorm) {
      q = rmsNorm(g, q, w.get(layerName(i, 'self_attn.q_norm.weight')), spec.eps);
      k = rmsNorm(g, k, w.get(layerName(i, 'self_attn.k_norm.weight')), spec.eps);
    }
    q = op.transpose(g, rope(q, cosQ, sinQ), [0, 2, 3, 1, 4]); // [B, KV, G, T, hd]
    let kc = op.transpose(g, rope(k, cosK, sinK), [0, 2, 1, 3]); // [B, KV, T, hd]
    let vc = op.transpose(g, v, [0, 2, 1, 3]);
    const prefix = opts.hooks?.prefix?.(i);
    if (prefix) {
      // A KV-cache graph would hold the prefix in pre-filled cache slots instead (not built yet).
      if (io.past || io.cache) throw new Error('decoder: prefix hooks are for full-sequence graphs; a KV-cache graph keeps the prefix in its cache');
      kc = op.concat(g, [prefix.k, kc], 2);
      vc = op.concat(g, [prefix.v, vc], 2);
    }
    if (io.past) {
      kc = op.concat(g, [io.past[i].k, kc], 2);
      vc = op.concat(g, [io.past[i].v, vc], 2);
    } else if (io.cache && io.writeIndex) {
      kc = op.scatterElements(g, io.cache[i].k, io.writeIndex, kc, 2);
      vc = op.scatterElements(g, io.cache[i].v, io.writeIndex, vc, 2);
    }
    present.push({ k: kc, v: vc });
    const S = kc.shape[2];
    const kT = op.reshape(g, op.transpose(g, kc, [0, 1, 3, 2]), [B, KV, 1, hd, S]);
    const scores = op.add(g, op.matmul(g, q, kT), io.mask); // [B, KV, G, T, S], q already scaled
    const probs = op.softmax(g, scores);
    const ctx = op.matmul(g, probs, op.reshape(g, vc, [B, KV, 1, S, hd])); // [B, KV, G, T, hd]
    const merged = op.reshape(g, op.transpose(g, ctx, [0, 3, 1, 2, 4]), [N, H * hd]);
    const attnOut = linear(merged, i, 'o', 'self_attn.o_proj');
    h = opts.hooks?.residual?.(i, 'attention', attnOut, h) ?? op.add(g, h, attnOut);

    const y = rmsNorm(g, h, w.get(layerName(i, 'post_attention_layernorm.weight')), spec.eps);
    const gate = op.silu(g, linear(y, i, 'gate', 'mlp.gate_proj'));
    const up = linear(y, i, 'up', 'mlp.up_proj');
    const mlpOut = linear(op.mul(g, gate, up), i, 'down', 'mlp.down_proj');
    h = opts.hooks?.residual?.(i, 'mlp', mlpOut, h) ?? op.add(g, h, mlpOut);
  }
  // A run that stops before the last layer has no final norm to apply (and no norm weight to load).
  const hidden = to === spec.layers ? rmsNorm(g, h, w.get('model.norm.weight'), spec.eps) : h;
  return { hidden, present, residual: h };
}

export function lmHead(w: GraphWeights, spec: ModelSpec, hidden: Value): Value {
  const head = spec.tiedEmbeddings || !w.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  return w.head(hidden, head);
}
