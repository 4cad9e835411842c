/**
 * Prefix tuning as PEFT's PrefixTuningConfig (causal LM, prefix_projection off) computes it: one
 * trainable table E [P, L·2·KV·hd] of P virtual tokens. Row t, viewed as [L·2, KV, hd], gives for layer
 * i the key (index 2i) and value (index 2i+1) of virtual token t for every KV head. They enter each
 * layer's attention before the real keys exactly as stored: no RoPE, no k-norm, the same for every row.
 * The real tokens' positions start at P (the prefix sits in the cache before them, as PEFT passes it
 * as past_key_values), and every token attends to the whole prefix.
 * Not an identity at init (any prefix takes attention mass), PEFT's init is N(0, 1), and a prefix
 * cannot be merged into weights. (PEFT's optional reparametrization MLP is not offered yet.)
 */
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { Graph, Value } from '../graph/ir.js';
import type { ModelSpec } from '../models/spec.js';
import * as op from '../ops/index.js';
import type { MethodAdapter } from './method.js';

export interface PrefixConfig {
  virtualTokens: number;
}

export const PREFIX_TENSOR = 'prompt_embeddings';

/** Standard normal by Box–Muller from the seeded uniform generator. */
function normal(rng: SeededRng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

export function prefixMethod(spec: ModelSpec, cfg: PrefixConfig): MethodAdapter {
  const P = cfg.virtualTokens;
  const { layers: L, kvHeads: KV, headDim: hd } = spec;
  const width = L * 2 * KV * hd;
  return {
    kind: 'prefix',
    spec,
    params: [{ name: PREFIX_TENSOR, shape: [P, width] }],
    virtualTokens: P,
    hooks(g: Graph, values: ReadonlyMap<string, Value>, batch: number) {
      const e = values.get(PREFIX_TENSOR)!;
      const kv = op.transpose(g, op.reshape(g, e, [P, L * 2, KV, hd]), [1, 2, 0, 3]); // [L·2, KV, P, hd]
      // Every row sees the same prefix: broadcast over the batch by adding zeros [B, 1, 1, 1].
      const zeros = g.init('prefix_batch_zeros', { dtype: e.dtype, shape: [batch, 1, 1, 1], data: e.dtype === 'float64' ? new Float64Array(batch) : new Float32Array(batch) });
      const piece = (k: number) => op.add(g, op.slice(g, kv, 0, k, k + 1), zeros);
      return { prefix: (layer) => ({ k: piece(2 * layer), v: piece(2 * layer + 1) }) };
    },
    init(_source, seed) {
      const rng = new SeededRng(deriveSeed(seed, 0x9f1));
      return new Map([[PREFIX_TENSOR, Float32Array.from({ length: P * width }, () => normal(rng))]]);
    },
    merge: () => ({ refused: 'a prefix adds attention positions; it has no weights to fold into the base' }),
    peftConfig: () => ({
      peft_type: 'PREFIX_TUNING',
      task_type: 'CAUSAL_LM',
      num_virtual_tokens: P,
      token_dim: KV * hd,
      num_attention_heads: KV,
      num_layers: L,
      num_transformer_submodules: 1,
      encoder_hidden_size: KV * hd,
      prefix_projection: false,
      inference_mode: true,
    }),
  };
}
