/**
 * The fused prefill/decode graph: the decoder of models/decoder.ts in ONNX Runtime's fused ops, so a
 * decode step is ~10 ops per layer instead of ~50 (on a GPU every op costs ~15 µs, so op count is speed):
 * - RMSNorm → SimplifiedLayerNormalization, residual add + RMSNorm → SkipSimplifiedLayerNormalization
 *   (which also returns the sum, the residual stream);
 * - q/k/v → one MatMul on weights concatenated at build time, gate/up → one MatMul + Split, SiLU →
 *   QuickGelu(alpha = 1); weights are stored [in, out] so activations stay [B, T, D] with no Reshape;
 * - attention, RoPE and the KV-cache write → GroupQueryAttention over fixed-capacity caches
 *   [B, KV, C, hd] (past and present have the same static shape). Qwen3 normalises each q/k head
 *   before RoPE, so there RoPE is a separate RotaryEmbedding and GQA gets do_rotary = 0 (also for
 *   SmolLM3, whose NoPE layers skip it).
 * On the GPU the residual stream is carried a multiple of 256 wide, zeros past the hidden size (padStream,
 * nodes.ts streamWidth), where the EP's RMSNorm kernels are balanced.
 * Rows hold no padding: every row's tokens sit at slots 0..len-1 (GQA's seqlens_k), so all rows
 * must have the same length. A prefill bucket may end in filler tokens (causal attention keeps them
 * from every real token, and decoding overwrites their cache slots); `last_index` picks the logits.
 * Inputs and outputs otherwise follow decode-graph.ts (input_ids, positions, cache.*, present.*, logits).
 */
import { Graph, type Value } from '../graph/ir.js';
import { sharedI64 } from '../graph/shared.js';
import { f16Bits } from '../io/half.js';
import { ropeTables } from '../models/rope.js';
import type { ModelSpec } from '../models/spec.js';
import type { PackedBase } from '../models/weights.js';
import * as op from '../ops/index.js';
import { matMulNBits } from '../ops/quant-linear.js';
import { cacheIn, cacheOut, type DecodeGraphOpts } from './decode-graph.js';
import { fusedLoraInputs, type FusedGroup } from './fused/fused-lora.js';
import { FusedWeights, layerName } from './fused/fused-weights.js';
import { fusedStreamWidth } from './fused/gpu-forms.js';
import { mlpNBits, qkvNBits } from './fused/nbits-blocks.js';
import { gatherSplitHead, groupQueryAttention, headSplit, node, projectionSlices, quickGelu, rotaryEmbedding, simplifiedLayerNorm, skipSimplifiedLayerNorm, rowMax, splitKHead, splitKProjection, splitLast, splitSizes } from './fused/nodes.js';

/**
 * The plain graph's options; the fused graph lays out fp32 weights itself (or takes a packed base's
 * projections as they are), so no weights factory.
 * `argmax`: the graph ends in each row's most likely next id (`next_ids`, int32 [B, 1]) instead of the
 * logits, so a greedy step reads back 4 bytes a row instead of the whole vocabulary's logits.
 */
export type FusedDecodeGraphOpts = Omit<DecodeGraphOpts, 'weights'> & {
  argmax?: boolean;
  /** With `argmax`: the logits are an output too (one captured graph serves greedy and sampled steps). */
  logitsToo?: boolean;
  /** A quantized base (int4): its projections run as MatMulNBits on the packed codes. */
  packed?: PackedBase | null;
  /**
   * One graph for every number of tokens per step (prefill buckets and decode alike): the token axis
   * is symbolic and `tokens` is ignored. A session holds its own copy of the weights, so this halves
   * (or better) the memory and the load time of a conversation's sessions.
   */
  anyLength?: boolean;
  /**
   * Split-K projections (nodes.ts, splitKProjection) sliced to give one-row MatMuls about this many
   * workgroups (projectionSlices); 0 or absent: plain MatMuls. For the GPU; the CPU's MatMul needs no help.
   */
  splitK?: number;
  /** Split every projection slices fit, not only those projectionSlices finds worth it (measurements). */
  splitKAll?: boolean;
  /** The adapter rows' x·Aᵀ split along K to about this many workgroups (fused/fused-lora.ts, loraSlices); 0: not. */
  loraSplitK?: number;
  /** The argmax's row maximum in two reductions over parts of the row (nodes.ts, rowMax); default on. */
  argmaxParts?: boolean;
  /**
   * On a symmetric 4-bit base with no adapter rows: each layer's RMSNorm and q/k/v projections in one
   * MatMulNBitsQkv, and its RMSNorm, gate, up and SiLU·up in one MatMulNBitsMlp (fused/nbits-blocks.ts). For
   * the GPU: the CPU EP has no kernels for them. 'mlp': the MLP op only (measurements).
   */
  nbitsFusion?: boolean | 'mlp';
  /**
   * The residual stream carried a multiple of 256 wide, zeros past the hidden size (nodes.ts, streamWidth), where
   * the base is not packed: the RMSNorm kernels' rows are then balanced. For the GPU.
   */
  padStream?: boolean;
  /**
   * fp16 weights, activations and KV caches on a float base (decided by gpu-forms.ts, fusedHalf): half the bytes a
   * step reads; the logits are cast to fp32 for the argmax and the samplers. For the GPU.
   */
  half?: boolean;
};

/** The symbolic token axis of an any-length graph's inputs. */
const TOKENS_AXIS = 'tokens';

export const NEXT_IDS = 'next_ids';

export const SEQLENS_K = 'seqlens_k';
export const TOTAL_LENGTH = 'total_sequence_length';
export const LAST_INDEX = 'last_index';

/** Why the fused graph cannot serve this model, or null when it can. */
export function fusedUnsupported(spec: ModelSpec): string | null {
  if (spec.headDim % 8 !== 0) return `head_dim ${spec.headDim} is not a multiple of 8 (GroupQueryAttention)`;
  if (spec.heads % spec.kvHeads !== 0) return `${spec.heads} heads do not group over ${spec.kvHeads} KV heads`;
  // Families whose blocks these fused ops do not express run on the plain graph (decode-graph.ts).
  if (spec.sliding) return 'sliding-window attention';
  if (spec.sandwichNorms || spec.normOffset !== 0 || spec.embedScale !== 1 || spec.mlpAct !== 'silu') return 'Gemma-style norms, embedding scale or GeGLU';
  if (spec.attnSoftcap || spec.finalSoftcap) return 'soft-capping';
  if (spec.rotaryDim !== spec.headDim) return 'partial rotary';
  if (Math.abs(spec.attnScale * Math.sqrt(spec.headDim) - 1) > 1e-7) return 'an attention scale other than 1/√head_dim';
  return null;
}

/** Whether every layer's q/k/v and gate/up are separate symmetric 4-bit projections (the fused 4-bit ops' input). */
function nbitsFusible(w: FusedWeights, spec: ModelSpec, qkv: readonly string[], gu: readonly string[]): boolean {
  if (qkv.length !== 3 || gu.length !== 2) return false; // Phi-3's checkpoint fuses them already
  for (let i = 0; i < spec.layers; i++) if (!w.packedSymmetric4(i, [...qkv, ...gu])) return false;
  return true;
}

/** Half-width RoPE tables [positions, hd/2] (HF repeats the frequencies; the fused ops take one half). */
function halfTables(spec: ModelSpec, positions: number): { cos: Float32Array; sin: Float32Array } {
  const { cos, sin } = ropeTables(spec, positions);
  const hd = spec.headDim;
  const half = hd / 2;
  const c = new Float32Array(positions * half);
  const s = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    c.set(cos.subarray(p * hd, p * hd + half), p * half);
    s.set(sin.subarray(p * hd, p * hd + half), p * half);
  }
  return { cos: c, sin: s };
}

/** Reshape that copies the batch and token axes from its input (ONNX's 0), so a symbolic length passes through. */
const reshapeTargets = new WeakMap<Graph, Map<string, Value>>();

function keepTokens(g: Graph, x: Value, shape: readonly number[]): Value {
  const name = `reshape_bt_${shape.slice(2).join('x')}`;
  let targets = reshapeTargets.get(g);
  if (!targets) reshapeTargets.set(g, (targets = new Map()));
  let target = targets.get(name);
  // one shape initializer per target shape, shared by every layer's reshape
  if (!target) targets.set(name, (target = g.init(name, { dtype: 'int64', shape: [shape.length], data: BigInt64Array.from([0, 0, ...shape.slice(2)].map(BigInt)) })));
  return node(g, 'Reshape', [x, target], [{ dtype: x.dtype, shape }])[0];
}

export function buildFusedDecodeGraph(o: FusedDecodeGraphOpts): Graph {
  const { spec, batch: B, capacity: C } = o;
  // An any-length graph is built at a nominal length of 1; no node may bake the token count in.
  const T = o.anyLength ? 1 : o.tokens;
  // One row of one token, every shape static (the captured decode's step graph): split-K inputs and the tied
  // embedding's rows need no transpose (nodes.ts, splitKProjection).
  const oneRow = !o.anyLength && B === 1 && T === 1;
  const why = fusedUnsupported(spec);
  if (why) throw new Error(`fused decode graph: ${why}`);
  const { heads: H, kvHeads: KV, headDim: hd, hidden: D, eps } = spec;
  const g = new Graph(`fused_decode_b${B}_t${o.anyLength ? 'any' : T}_c${C}`);
  const ids = g.input('input_ids', 'int32', [B, T]);
  const symbolic = (v: Value) => o.anyLength && g.symbolicDims.set(v.name, new Map([[1, TOKENS_AXIS]]));
  symbolic(ids);
  // GQA applies RoPE itself when its tables allow (hd/2 a multiple of 8) and nothing comes between
  // projection and RoPE; Qwen3's per-head norms do, so there RotaryEmbedding runs on its own.
  const separateRope = spec.qkNorm || hd % 16 !== 0 || spec.noRopeLayers.length > 0;
  const positions = separateRope ? g.input('positions', 'int32', [B, T]) : null;
  if (positions) symbolic(positions);
  const seqlensK = g.input(SEQLENS_K, 'int32', [B]);
  const total = g.input(TOTAL_LENGTH, 'int32', []);
  const lastIndex = T > 1 || o.anyLength ? g.input(LAST_INDEX, 'int32', []) : null;
  // fp16 throughout where asked (never on a packed base, whose ops take fp32): weights, activations, caches, RoPE tables.
  const half = !!o.half && !o.packed;
  const F = half ? 'float16' : 'float32';
  const cache = Array.from({ length: spec.layers }, (_, i) => ({
    k: g.input(cacheIn(i, 'k'), F, [B, KV, C, hd]),
    v: g.input(cacheIn(i, 'v'), F, [B, KV, C, hd]),
  }));
  const w = new FusedWeights(g, spec, o.source, o.overrides, o.packed ?? null, F);
  // The residual stream's width: past D, zeros (the embedding padded, o and down writing zero columns, the norms'
  // weights zero there) that q/k/v and gate/up read against zero rows.
  const W = fusedStreamWidth(D, o.padStream, !!o.packed);
  const normEps = W > D ? (eps * D) / W : eps;
  const normW = (name: string) => w.normWeight(name, W);
  const lora = o.lora ? fusedLoraInputs(g, spec, o.lora, B, { ...o, streamWidth: W, half }) : null;
  const tables = halfTables(spec, C);
  const table = (name: string, t: Float32Array) => g.init(name, { dtype: F, shape: [C, hd / 2], data: half ? f16Bits(t) : t });
  const cos = table('rope_cos_half', tables.cos);
  const sin = table('rope_sin_half', tables.sin);
  const pos64 = positions ? op.cast(g, positions, 'int64') : null;

  /** x·Wᵀ (+ bias) (+ the row's LoRA delta) for a fused projection; x is [B, T, in]. */
  const project = (x: Value, layer: number, group: FusedGroup, modules: readonly string[], bias: boolean) => {
    const p = w.packedProjection(layer, modules);
    let y = p ? matMulNBits(g, x, p, p.N, p.K, p.bits) : plainProjection(x, layer, modules, group === 'o' || group === 'down' ? W : undefined);
    if (bias) y = op.add(g, y, w.bias(layer, modules));
    const io = lora?.(layer, group);
    if (!io) return y;
    // Aᵀ of rank 4 is laid out in slices of K (fused-lora.ts, loraSlices).
    const xa = io.at.shape.length === 4 ? splitKProjection(g, x, io.at, oneRow) : op.matmul(g, x, io.at);
    return op.add(g, y, op.matmul(g, xa, io.bt));
  };
  /** x·Wᵀ on a float weight: split along K where projectionSlices finds it worth it, else one MatMul. */
  const plainProjection = (x: Value, layer: number, modules: readonly string[], outDim?: number) => {
    const K = x.shape[2];
    const N = outDim ?? modules.reduce((a, m) => a + o.source.shape(layerName(layer, `${m}.weight`))[0], 0);
    const S = projectionSlices(K, N, o.splitK ?? 0, o.splitKAll);
    return S > 1 ? splitKProjection(g, x, w.projection(layer, modules, K, S, N), oneRow) : op.matmul(g, x, w.projection(layer, modules, K, 1, N));
  };
  const layerW = (i: number, rest: string) => w.get(layerName(i, rest));
  // Phi-3's checkpoint has them fused already, in the same [q | k | v] and [gate | up] order.
  const qkvModules = spec.fusedProjections ? ['self_attn.qkv_proj'] : ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'];
  const guModules = spec.fusedProjections ? ['mlp.gate_up_proj'] : ['mlp.gate_proj', 'mlp.up_proj'];

  // The LM head is kept transposed for its split-K MatMul; a tied embedding is read from that one copy.
  const tied = spec.tiedEmbeddings || !w.has('lm_head.weight');
  const head = w.splitHead(tied ? 'model.embed_tokens.weight' : 'lm_head.weight', headSplit(D));
  let h = tied ? gatherSplitHead(g, head, ids, oneRow) : op.gather(g, w.get('model.embed_tokens.weight'), ids); // [B, T, D]
  if (W > D) h = node(g, 'Pad', [h, sharedI64(g, 'stream_pad', [0, 0, 0, 0, 0, W - D])], [{ dtype: h.dtype, shape: [B, T, W] }])[0];
  const nbits = !!o.nbitsFusion && !lora && nbitsFusible(w, spec, qkvModules, guModules);
  const qkvOp = nbits && o.nbitsFusion !== 'mlp';
  // With the fused qkv op a layer's input norm happens inside it: `pending` is what that op normalizes (the
  // last layer's down projection, added to the residual stream h).
  let x = qkvOp ? h : simplifiedLayerNorm(g, h, normW(layerName(0, 'input_layernorm.weight')), normEps);
  let pending: Value | null = null;
  let normed: Value | null = null;
  const present: Value[] = [];
  for (let i = 0; i < spec.layers; i++) {
    let qkv: Value | null = null;
    let parts: Value[] | null = null;
    if (qkvOp) {
      const pp = (m: string) => w.symmetricProjection(i, m);
      const r = qkvNBits(g, pending ?? x, pending ? h : null, normW(layerName(i, 'input_layernorm.weight')), normEps, pp(qkvModules[0]), pp(qkvModules[1]), pp(qkvModules[2]));
      if (r.sum) h = r.sum;
      const biased = (t: Value, m: string) => (spec.qkvBias ? op.add(g, t, w.bias(i, [m])) : t);
      parts = [biased(r.q, qkvModules[0]), biased(r.k, qkvModules[1]), biased(r.v, qkvModules[2])];
    } else qkv = project(x, i, 'qkv', qkvModules, spec.qkvBias); // [B, T, (H + 2·KV)·hd]
    const presentNames: [string, string] = [cacheOut(i, 'k'), cacheOut(i, 'v')];
    const gqa = { pastKey: cache[i].k, pastValue: cache[i].v, seqlensK, totalLength: total, heads: H, kvHeads: KV, headDim: hd, presentNames };
    let r: ReturnType<typeof groupQueryAttention>;
    if (pos64) {
      // (Qwen3: RMSNorm each q/k head,) then RoPE, before attention; GQA gets q, k, v unpacked and rotated.
      const [q, k, v] = parts ?? splitSizes(g, qkv!, [H * hd, KV * hd, KV * hd], `qkv_split_${i}`);
      const headNorm = (t: Value, n: number, wName: string) =>
        spec.qkNorm ? keepTokens(g, simplifiedLayerNorm(g, keepTokens(g, t, [B, T, n, hd]), layerW(i, wName), eps), [B, T, n * hd]) : t;
      const rope = (t: Value, n: number) => (spec.noRopeLayers.includes(i) ? t : rotaryEmbedding(g, t, pos64, cos, sin, n));
      r = groupQueryAttention(g, { ...gqa, query: rope(headNorm(q, H, 'self_attn.q_norm.weight'), H), key: rope(headNorm(k, KV, 'self_attn.k_norm.weight'), KV), value: v, rotary: null });
    } else if (parts) {
      r = groupQueryAttention(g, { ...gqa, query: parts[0], key: parts[1], value: parts[2], rotary: { cos, sin } });
    } else {
      r = groupQueryAttention(g, { ...gqa, query: qkv!, key: null, value: null, rotary: { cos, sin } });
    }
    present.push(r.presentKey, r.presentValue);
    const attn = r.out;
    const o_ = project(attn, i, 'o', ['self_attn.o_proj'], false);
    const postNorm = normW(layerName(i, 'post_attention_layernorm.weight'));
    let act: Value;
    if (nbits) {
      const m = mlpNBits(g, o_, h, postNorm, normEps, w.symmetricProjection(i, guModules[0]), w.symmetricProjection(i, guModules[1]));
      h = m.sum;
      act = m.y;
    } else {
      const post = skipSimplifiedLayerNorm(g, o_, h, postNorm, normEps, true);
      h = post.sum!;
      const [gate, up] = splitLast(g, project(post.normed, i, 'gu', guModules, false), 2);
      act = op.mul(g, quickGelu(g, gate), up);
    }
    const down = project(act, i, 'down', ['mlp.down_proj'], false);
    const last = i === spec.layers - 1;
    if (qkvOp && !last) {
      pending = down;
      continue;
    }
    const next = skipSimplifiedLayerNorm(g, down, h, normW(last ? 'model.norm.weight' : layerName(i + 1, 'input_layernorm.weight')), normEps, !last);
    if (last) normed = next.normed;
    else {
      x = next.normed;
      h = next.sum!;
    }
  }
  let final = lastIndex ? op.gather(g, normed!, lastIndex, 1) : op.reshape(g, normed!, [B, W]);
  // the LM head reads the hidden size's values (its weights are not padded: the tied embedding is the same table)
  if (W > D) final = node(g, 'Slice', [final, sharedI64(g, 'stream_from', [0]), sharedI64(g, 'stream_to', [D]), sharedI64(g, 'stream_axis', [1])], [{ dtype: final.dtype, shape: [B, D] }])[0];
  const logitsName = o.argmax && !o.logitsToo ? undefined : 'logits';
  // fp16 logits are cast once: the argmax's reverse index and the samplers read fp32
  const logits = half ? node(g, 'Cast', [splitKHead(g, final, head)], [{ dtype: 'float32', shape: [B, spec.vocab], name: logitsName }], { to: { i: 1 } })[0] : splitKHead(g, final, head, logitsName);
  if (o.argmax) {
    // First index of the maximum, as the host's argmax picks it. The WebGPU EP has no ArgMax kernel
    // (nor int64 casts), so in float ops: the max, a mask of where it occurs, and the largest of
    // V - index over the mask; exact in fp32 for any vocabulary under 2^24.
    const V = spec.vocab;
    const axes = g.init('argmax_axes', { dtype: 'int64', shape: [1], data: BigInt64Array.of(1n) });
    const rev = g.init('argmax_rev_iota', { dtype: 'float32', shape: [V], data: Float32Array.from({ length: V }, (_, i) => V - i) });
    const zero = g.init('argmax_zero', { dtype: 'float32', shape: [], data: Float32Array.of(0) });
    const vocab = g.init('argmax_vocab', { dtype: 'float32', shape: [], data: Float32Array.of(V) });
    const max = rowMax(g, logits, axes, o.argmaxParts !== false);
    const at = node(g, 'Equal', [logits, max], [{ dtype: 'bool', shape: [B, V] }])[0];
    const marks = node(g, 'Where', [at, rev, zero], [{ dtype: 'float32', shape: [B, V] }])[0];
    // [B, 1]: the shape of a decode step's input_ids, so the ids can feed the next step where they are.
    const first = rowMax(g, marks, axes, o.argmaxParts !== false);
    const id = node(g, 'Sub', [vocab, first], [{ dtype: 'float32', shape: [B, 1] }])[0];
    g.output(node(g, 'Cast', [id], [{ dtype: 'int32', shape: [B, 1], name: NEXT_IDS }], { to: { i: 6 } })[0]);
    if (o.logitsToo) g.output(logits);
  } else g.output(logits);
  // present.{i}.k, present.{i}.v in layer order, as decode-graph.ts lists them; GQA named them already.
  present.forEach((v) => g.output(v));
  return g;
}
