/**
 * AdapterFusion (Pfeiffer et al. 2021) as AdapterHub's `adapters` computes it (methods/bottleneck.py
 * `compose_fuse`, methods/modeling.py `BertFusion`, read for this file) with its default "dynamic" config
 * (query, key, value; query after the pre-norm step; residual after; no temperature; value before softmax):
 * at each place the fused bottleneck adapters sit, with x the adapters' input (a for Houlsby, r + a for
 * Pfeiffer, bottleneck.ts) and upᵢ = fᵢ(x) each frozen adapter's scaled up-projection,
 *   scoreᵢ = (Q·x + q_b) · (K·upᵢ + k_b),   p = softmax(score),   a' = a + Σᵢ pᵢ · (V·upᵢ)
 * and the decoder adds r (AdapterHub's post_forward). Only Q, K (with biases) and V (no bias) train; the
 * adapters are graph constants, so nothing can move them. Init as AdapterHub's: Q, K ~ N(0, 0.02), biases
 * zero, V = I with 1e-6 off the diagonal (value_initialized), so training starts from the adapters' average.
 * Deliberate difference: AdapterHub's trainer adds 0.01·‖I − V‖² per layer (regularization: True); Graft's
 * loss is the cross-entropy alone. Tensor names are AdapterHub's
 * (model.layers.i.{attention,output}_adapters.adapter_fusion_layer.NAME.{query,key,value}.{weight,bias}).
 * Parallel adapters are refused (AdapterHub fuses sequential bottlenecks), and so are adapters of different
 * placements (AdapterHub takes the last adapter's pre-forward for all).
 */
import { createHash } from 'node:crypto';
import { deriveSeed, SeededRng } from '../data/rng.js';
import { GraftError } from '../errors.js';
import type { Graph, Value } from '../graph/ir.js';
import type { ModelSpec } from '../models/spec.js';
import * as op from '../ops/index.js';
import { type BottleneckConfig, bottleneckBranch, bottleneckMethod, type Where } from './bottleneck.js';
import { type MethodAdapter, size } from './method.js';

export interface FusedPart {
  config: BottleneckConfig;
  tensors: ReadonlyMap<string, Float32Array>;
  /** Where it was read from, for messages. */
  label?: string;
}

/** AdapterHub's DynamicAdapterFusionConfig, as saved in its adapter_fusion_config.json. */
export const DYNAMIC_FUSION_CONFIG = {
  key: true,
  query: true,
  value: true,
  query_before_ln: false,
  regularization: true,
  residual_before: false,
  temperature: false,
  value_before_softmax: true,
  value_initialized: true,
  dropout_prob: null,
} as const;

const LOCATION: Record<Where, string> = { attention: 'attention_adapters', mlp: 'output_adapters' };

const digest = (t: ReadonlyMap<string, Float32Array>) => {
  const h = createHash('sha256');
  for (const n of [...t.keys()].sort()) h.update(n).update(new Uint8Array(t.get(n)!.buffer, t.get(n)!.byteOffset, t.get(n)!.byteLength));
  return h.digest('hex').slice(0, 16);
};

export function fusionMethod(spec: ModelSpec, parts: readonly FusedPart[], name = 'fusion'): MethodAdapter {
  if (parts.length < 2) throw new GraftError('BAD_INPUT', `AdapterFusion needs two adapters or more, got ${parts.length}`, { field: 'fuseAdapters' });
  const kind = parts[0].config.kind;
  for (const p of parts) {
    if (p.config.kind === 'parallel') throw new GraftError('UNSUPPORTED', `${p.label ?? p.config.name}: AdapterFusion fuses sequential bottleneck adapters (Houlsby, Pfeiffer), not parallel ones`, { field: 'fuseAdapters' });
    if (p.config.kind !== kind) throw new GraftError('UNSUPPORTED', `${p.label ?? p.config.name} is a ${p.config.kind} adapter, the first is ${kind}: fused adapters must sit in the same places`, { field: 'fuseAdapters' });
  }
  const D = spec.hidden;
  const branches = parts.map((p) => bottleneckBranch(spec, p.config));
  const places = branches[0].places;
  const wname = (layer: number, where: Where, m: 'query' | 'key' | 'value', t: 'weight' | 'bias') => `model.layers.${layer}.${LOCATION[where]}.adapter_fusion_layer.${name}.${m}.${t}`;
  const params: { name: string; shape: number[] }[] = [];
  for (let layer = 0; layer < spec.layers; layer++)
    for (const where of places)
      params.push(
        { name: wname(layer, where, 'query', 'weight'), shape: [D, D] },
        { name: wname(layer, where, 'query', 'bias'), shape: [D] },
        { name: wname(layer, where, 'key', 'weight'), shape: [D, D] },
        { name: wname(layer, where, 'key', 'bias'), shape: [D] },
        { name: wname(layer, where, 'value', 'weight'), shape: [D, D] },
      );
  const digests = parts.map((p) => digest(p.tensors));
  return {
    kind: 'fusion',
    spec,
    params,
    virtualTokens: 0,
    frozen: parts.map((p) => ({ adapter: bottleneckMethod(spec, p.config), tensors: p.tensors })),
    hooks(g: Graph, values: ReadonlyMap<string, Value>) {
      const dt = values.get(params[0].name)!.dtype;
      // Each frozen adapter's tensors as constants of this graph (created once, on first use).
      const consts = parts.map((p, k) => {
        const cache = new Map<string, Value>();
        return {
          get: (n: string) => {
            let v = cache.get(n);
            if (!v) {
              const data = p.tensors.get(n);
              if (!data) throw new GraftError('BAD_INPUT', `${p.label ?? p.config.name}: tensor ${n} is missing`, { field: 'fuseAdapters', where: n });
              const shape = n.endsWith('bias') ? [data.length] : n.includes('adapter_down') ? [branches[k].width, D] : [D, branches[k].width];
              cache.set(n, (v = g.init(`fused${k}.${n}`, { dtype: dt, shape, data: dt === 'float64' ? Float64Array.from(data) : data })));
            }
            return v;
          },
        };
      });
      const asMap = (c: (typeof consts)[number]) => ({ get: c.get }) as unknown as ReadonlyMap<string, Value>;
      return {
        output: (layer, where, a, r) => {
          if (!places.includes(where)) return null;
          const x = branches[0].input(g, a, r);
          const ups = branches.map((b, k) => b.up(g, asMap(consts[k]), layer, where, x));
          const v = (m: 'query' | 'key' | 'value', t: 'weight' | 'bias') => values.get(wname(layer, where, m, t))!;
          const q = op.gemm(g, x, v('query', 'weight'), v('query', 'bias'), { transB: true });
          const scores = ups.map((u) => op.reduceSum(g, op.mul(g, q, op.gemm(g, u, v('key', 'weight'), v('key', 'bias'), { transB: true })), [1], true));
          const probs = op.split(g, op.softmax(g, op.concat(g, scores, 1)), ups.map(() => 1), 1);
          let mixed: Value | null = null;
          ups.forEach((u, k) => {
            const term = op.mul(g, probs[k], op.gemm(g, u, v('value', 'weight'), null, { transB: true }));
            mixed = mixed ? op.add(g, mixed, term) : term;
          });
          return op.add(g, a, mixed!);
        },
      };
    },
    init(_source, seed) {
      const rng = new SeededRng(deriveSeed(seed, 0xf05));
      // N(0, 0.02) by Box-Muller from the seeded uniform stream.
      const normal = () => 0.02 * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
      return new Map(
        params.map((p) => {
          if (p.name.endsWith('value.weight')) return [p.name, Float32Array.from({ length: D * D }, (_, i) => (i % (D + 1) === 0 ? 1 : 1e-6))];
          if (p.name.endsWith('bias')) return [p.name, new Float32Array(size(p.shape))];
          return [p.name, Float32Array.from({ length: size(p.shape) }, normal)];
        }),
      );
    },
    merge: () => ({ refused: 'AdapterFusion mixes non-linear adapters per token; it has no merge into the base weights' }),
    // Graft's layout (docs/adapter-methods.md): the config names the fused adapters, saved beside it in adapters/K.
    peftConfig: () => ({
      graft_method: 'fusion',
      fusion_name: name,
      config: DYNAMIC_FUSION_CONFIG,
      adapters: parts.map((p, k) => ({ dir: `adapters/${k}`, adapter_name: p.config.name, kind: p.config.kind, tensors_sha256: digests[k] })),
    }),
  };
}
