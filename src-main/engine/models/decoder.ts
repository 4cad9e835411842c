/**
 * The shared Llama-family decoder: embedding, N blocks of (RMSNorm, attention with RoPE and GQA,
 * RMSNorm, SwiGLU MLP) with residuals, final norm and LM head. Activations are kept 2-D [B·T, D] so
 * every projection is one Gemm on the HF [out, in] weight; only attention reshapes to heads.
 * LoRA (or any adapter) enters through `delta`, which returns what to add to a projection's output;
 * the other adapter methods (adapters/*.ts) through `hooks`: one that may rewrite a projection, one
 * that prepends key/value prefixes to a layer's attention, one that may rewrite a sub-block's output
 * before the residual add. What other families change (Gemma's scaled embeddings, 1 + w norms, sandwich norms, GeGLU and
 * sliding windows; Phi-3's fused projections and partial rotary; SmolLM3's NoPE layers) is read
 * from the spec's fields, never from the architecture's name.
 */
import type { LayerSpan } from '../autodiff/recompute-layers.js';
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';
import type { LoraTarget } from '../adapters/lora-config.js';
import { mainRope, ropeTables, rotateHalfMatrix } from './rope.js';
import type { ModelSpec, RopeSpec } from './spec.js';
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
   * Rewrites a sub-block's output before the residual add (bottleneck adapters, fusion): `out` is the
   * attention's o_proj output or the MLP's down_proj output, `residual` the stream that entered the
   * sub-block (read, never replaced); the block continues with `residual + result`. Returning the new
   * output rather than the new stream lets a stack (adapters/stack.ts) feed one method's result to the next.
   */
  output?: (layer: number, where: 'attention' | 'mlp', out: Value, residual: Value) => Value | null;
}

export interface DecoderInputs {
  /** [B, T] int32 token ids. */
  ids: Value;
  /** [B, T] int32 absolute positions (for RoPE). */
  positions: Value;
  /** [B, 1, 1, T, S] additive attention mask (0 or a large negative), S = past + T. */
  mask: Value;
  /**
   * The mask of sliding-window layers (spec.sliding), same shape. Without it the decoder adds a
   * window band to `mask`, which is right when query t and key t are the same slot (no cache).
   */
  localMask?: Value;
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
  /** Each layer's nodes (g.nodes[start, end)) and the residual stream entering it: activation checkpointing's unit. */
  layerSpans: LayerSpan[];
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

const NEG = -1e9;

/** [T, T]: a large negative where key s is `window` or more tokens behind query t. */
export function windowBand(T: number, window: number): Float32Array {
  const band = new Float32Array(T * T);
  for (let t = 0; t < T; t++) band.fill(NEG, t * T, t * T + Math.max(0, t - window + 1));
  return band;
}

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
  const asDt = (a: Float32Array) => (dt === 'float64' ? Float64Array.from(a) : a);
  const rot = g.init('rope_rotate_half', { dtype: dt, shape: [hd, hd], data: asDt(rotateHalfMatrix(hd, spec.rotaryDim)) });
  /**
   * Gathered cos/sin of one RoPE. q's tables carry the attention scale: scaling q inside RoPE costs
   * no op, where scaling the scores would be a pass over [B, H, T, S] in the forward and another in the backward.
   */
  const ropeValues = (rope: RopeSpec, tag: string) => {
    const tables = ropeTables(spec, opts.ropeLength, rope);
    const init = (name: string, data: Float32Array) => g.init(name + tag, { dtype: dt, shape: [opts.ropeLength, hd], data: asDt(data) });
    const scaled = (a: Float32Array) => a.map((x) => x * spec.attnScale);
    const at = (t: Value, shape: number[]) => op.reshape(g, op.gather(g, t, io.positions), shape);
    return {
      cosQ: at(init('rope_cos_q', scaled(tables.cos)), [B, T, 1, 1, hd]),
      sinQ: at(init('rope_sin_q', scaled(tables.sin)), [B, T, 1, 1, hd]),
      cosK: at(init('rope_cos', tables.cos), [B, T, 1, hd]),
      sinK: at(init('rope_sin', tables.sin), [B, T, 1, hd]),
    };
  };
  const sliding = new Set(spec.sliding?.layers ?? []);
  const noRope = new Set(spec.noRopeLayers);
  const { from, to } = opts.layers ?? { from: 0, to: spec.layers };
  const run = Array.from({ length: to - from }, (_, k) => from + k);
  const used = run.filter((i) => !noRope.has(i));
  const mainTables = used.some((i) => !sliding.has(i)) ? ropeValues(mainRope(spec), '') : null;
  const localTables = spec.sliding && used.some((i) => sliding.has(i)) ? ropeValues(spec.sliding.rope, '_local') : null;
  const rope = (x: Value, c: Value, s: Value) => op.add(g, op.mul(g, x, c), op.mul(g, op.matmul(g, x, rot), s));
  let localMask = io.localMask ?? null;
  if (spec.sliding && !localMask && run.some((i) => sliding.has(i))) {
    if (io.past || io.cache) throw new Error('decoderForward: a cached run of a sliding-window model needs localMask');
    const S = io.mask.shape[4];
    localMask = op.add(
      g,
      io.mask,
      g.init('sliding_window_band', { dtype: dt, shape: [S, S], data: asDt(windowBand(S, spec.sliding.window)) }),
    );
  }

  const linear = (x: Value, layer: number, target: LoraTarget, module: string, bias = false) => {
    const b = bias ? w.get(layerName(layer, `${module}.bias`)) : null;
    const name = layerName(layer, `${module}.weight`);
    const frozen: FrozenLinear = {
      apply: (xi, withBias = true) => w.linear(xi, name, withBias ? b : null),
      weight: () => w.get(name),
      bias: b,
    };
    const y = opts.hooks?.linear?.(layer, target, x, frozen) ?? w.linear(x, name, b);
    const d = opts.delta?.(layer, target, x);
    return d ? op.add(g, y, d) : y;
  };
  const norm = (x: Value, name: string) => {
    const weight = w.get(name);
    return rmsNorm(g, x, spec.normOffset ? op.add(g, weight, op.scalar(g, spec.normOffset, dt)) : weight, spec.eps);
  };
  const softcap = (x: Value, cap: number) => op.mul(g, op.tanh(g, op.mul(g, x, op.scalar(g, 1 / cap, dt))), op.scalar(g, cap, dt));

  let h = io.residual ?? op.reshape(g, w.embed(io.ids), [N, spec.hidden]);
  if (!io.residual && spec.embedScale !== 1) h = op.mul(g, h, op.scalar(g, spec.embedScale, dt));
  const present: { k: Value; v: Value }[] = [];
  const layerSpans: LayerSpan[] = [];
  for (let i = from; i < to; i++) {
    const span = { start: g.nodes.length, end: 0, input: h };
    const x = norm(h, layerName(i, 'input_layernorm.weight'));
    let qp: Value, kp: Value, vp: Value;
    if (spec.fusedProjections) {
      const qkv = linear(x, i, 'qkv', 'self_attn.qkv_proj', spec.qkvBias);
      [qp, kp, vp] = op.split(g, qkv, [H * hd, KV * hd, KV * hd], 1);
    } else {
      qp = linear(x, i, 'q', 'self_attn.q_proj', spec.qkvBias);
      kp = linear(x, i, 'k', 'self_attn.k_proj', spec.qkvBias);
      vp = linear(x, i, 'v', 'self_attn.v_proj', spec.qkvBias);
    }
    let q = op.reshape(g, qp, [B, T, KV, G, hd]);
    let k = op.reshape(g, kp, [B, T, KV, hd]);
    const v = op.reshape(g, vp, [B, T, KV, hd]);
    if (spec.qkNorm) {
      q = norm(q, layerName(i, 'self_attn.q_norm.weight'));
      k = norm(k, layerName(i, 'self_attn.k_norm.weight'));
    }
    const tables = noRope.has(i) ? null : sliding.has(i) ? localTables! : mainTables!;
    if (tables) {
      q = rope(q, tables.cosQ, tables.sinQ);
      k = rope(k, tables.cosK, tables.sinK);
    } else {
      q = op.mul(g, q, op.scalar(g, spec.attnScale, dt));
    }
    q = op.transpose(g, q, [0, 2, 3, 1, 4]); // [B, KV, G, T, hd]
    let kc = op.transpose(g, k, [0, 2, 1, 3]); // [B, KV, T, hd]
    let vc = op.transpose(g, v, [0, 2, 1, 3]);
    const prefix = opts.hooks?.prefix?.(i);
    if (prefix && io.past) throw new Error('decoder: prefix hooks take full-sequence or fixed-cache graphs, not a growing past');
    if (io.past) {
      kc = op.concat(g, [io.past[i].k, kc], 2);
      vc = op.concat(g, [io.past[i].v, vc], 2);
    } else if (io.cache && io.writeIndex) {
      kc = op.scatterElements(g, io.cache[i].k, io.writeIndex, kc, 2);
      vc = op.scatterElements(g, io.cache[i].v, io.writeIndex, vc, 2);
    }
    present.push({ k: kc, v: vc });
    if (prefix) {
      // The prefix's P keys/values come first in every attention row (the mask's first P columns); a
      // cache never holds them, so the cached slots stay those of the real tokens.
      kc = op.concat(g, [prefix.k, kc], 2);
      vc = op.concat(g, [prefix.v, vc], 2);
    }
    const S = kc.shape[2];
    const kT = op.reshape(g, op.transpose(g, kc, [0, 1, 3, 2]), [B, KV, 1, hd, S]);
    let raw = op.matmul(g, q, kT); // [B, KV, G, T, S], q already scaled
    if (spec.attnSoftcap) raw = softcap(raw, spec.attnSoftcap);
    const scores = op.add(g, raw, sliding.has(i) ? localMask! : io.mask);
    const probs = op.softmax(g, scores);
    const ctx = op.matmul(g, probs, op.reshape(g, vc, [B, KV, 1, S, hd])); // [B, KV, G, T, hd]
    const merged = op.reshape(g, op.transpose(g, ctx, [0, 3, 1, 2, 4]), [N, H * hd]);
    let attn = linear(merged, i, 'o', 'self_attn.o_proj');
    if (spec.sandwichNorms) attn = norm(attn, layerName(i, 'post_attention_layernorm.weight'));
    h = op.add(g, h, opts.hooks?.output?.(i, 'attention', attn, h) ?? attn);

    const y = norm(h, layerName(i, spec.sandwichNorms ? 'pre_feedforward_layernorm.weight' : 'post_attention_layernorm.weight'));
    let gate: Value, up: Value;
    if (spec.fusedProjections)
      [gate, up] = op.split(g, linear(y, i, 'gate_up', 'mlp.gate_up_proj'), [spec.intermediate, spec.intermediate], 1);
    else [gate, up] = [linear(y, i, 'gate', 'mlp.gate_proj'), linear(y, i, 'up', 'mlp.up_proj')];
    const act = spec.mlpAct === 'gelu_tanh' ? op.geluTanh(g, gate) : op.silu(g, gate);
    let mlp = linear(op.mul(g, act, up), i, 'down', 'mlp.down_proj');
    if (spec.sandwichNorms) mlp = norm(mlp, layerName(i, 'post_feedforward_layernorm.weight'));
    h = op.add(g, h, opts.hooks?.output?.(i, 'mlp', mlp, h) ?? mlp);
    layerSpans.push({ ...span, end: g.nodes.length });
  }
  // A run that stops before the last layer has no final norm to apply (and no norm weight to load).
  const hidden = to === spec.layers ? norm(h, 'model.norm.weight') : h;
  return { hidden, present, residual: h, layerSpans };
}

export function lmHead(w: GraphWeights, spec: ModelSpec, hidden: Value): Value {
  const head = spec.tiedEmbeddings || !w.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const logits = w.head(hidden, head);
  if (!spec.finalSoftcap) return logits;
  const g = w.g;
  return op.mul(
    g,
    op.tanh(g, op.mul(g, logits, op.scalar(g, 1 / spec.finalSoftcap, logits.dtype))),
    op.scalar(g, spec.finalSoftcap, logits.dtype),
  );
}
