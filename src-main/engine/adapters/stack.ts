/**
 * Stack: several adapters applied in sequence on one row (a language adapter, then a task adapter), as
 * AdapterHub's `Stack` composition computes it. Each part sees the block as the parts before it left it:
 *   - a projection rewrite (IA³, DoRA, BitFit) wraps the projection the earlier parts produced, so
 *     IA³ on top of BitFit scales the biased output; a rewrite that needs the raw weight (DoRA's norm,
 *     BitFit's bias-free product) of a projection an earlier part already rewrote is refused: that
 *     weight is no longer a matrix the part can read;
 *   - a sub-block output rewrite (bottlenecks, fusion) receives the previous part's output, which is
 *     AdapterHub's Stack for Houlsby and Pfeiffer adapters: out₂ = g₂(g₁(a)), the stream r added once after;
 *   - prefixes are concatenated in stack order (P = ΣPₖ).
 * Tensors are renamed `stack.K.NAME` (two parts may use the same names); `stackTensors` renames a set of
 * parts' values to match. A stack has no merge of its own: it runs through the hooks (plain decode graph).
 */
import { GraftError } from '../errors.js';
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';
import type { BlockHooks, FrozenLinear } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import type { MethodAdapter } from './method.js';

export interface StackPart {
  adapter: MethodAdapter;
  tensors: ReadonlyMap<string, Float32Array>;
}

export const stackName = (k: number, name: string) => `stack.${k}.${name}`;

const refuse = (message: string) => new GraftError('UNSUPPORTED', `stack: ${message}`, { field: 'compose' });

export function stackMethod(spec: ModelSpec, parts: readonly MethodAdapter[]): MethodAdapter {
  if (parts.length < 2) throw new GraftError('BAD_INPUT', `a stack needs two adapters or more, got ${parts.length}`, { field: 'compose' });
  for (const p of parts) if (p.spec.hidden !== spec.hidden || p.spec.layers !== spec.layers) throw refuse(`${p.kind} was built for another model shape`);
  return {
    kind: 'stack',
    spec,
    params: parts.flatMap((p, k) => p.params.map((t) => ({ name: stackName(k, t.name), shape: t.shape }))),
    virtualTokens: parts.reduce((n, p) => n + p.virtualTokens, 0),
    hooks(g: Graph, values: ReadonlyMap<string, Value>, batch: number): BlockHooks {
      const per = parts.map((p, k) => ({ kind: p.kind, hooks: p.hooks(g, new Map(p.params.map((t) => [t.name, values.get(stackName(k, t.name))!])), batch) }));
      return {
        linear: (layer, target, x, frozen) => {
          // The projection as parts 0..k-1 leave it, for any input (IA³ on down scales the input first).
          let cur: FrozenLinear = frozen;
          let rewrittenBy: string | null = null;
          for (const p of per) {
            if (!p.hooks.linear) continue;
            const below = cur;
            const seen = new Map<Value, Value | null>();
            const rewritten = (xi: Value) => {
              if (!seen.has(xi)) seen.set(xi, p.hooks.linear!(layer, target, xi, below));
              return seen.get(xi)!;
            };
            const probe = rewritten(x);
            if (!probe) continue;
            rewrittenBy = p.kind;
            cur = {
              apply: (xi, withBias = true) => {
                if (!withBias) throw refuse(`a method after ${p.kind} needs layer ${layer} ${target} without its bias, which ${p.kind} already rewrote`);
                return rewritten(xi) ?? below.apply(xi);
              },
              weight: () => {
                throw refuse(`a method after ${p.kind} needs the weight of layer ${layer} ${target}, which ${p.kind} already rewrote`);
              },
              bias: null,
            };
          }
          return rewrittenBy ? cur.apply(x) : null;
        },
        prefix: (layer) => {
          const got = per.map((p) => p.hooks.prefix?.(layer) ?? null).filter((v): v is { k: Value; v: Value } => v !== null);
          if (got.length === 0) return null;
          if (got.length === 1) return got[0];
          return { k: op.concat(g, got.map((p) => p.k), 2), v: op.concat(g, got.map((p) => p.v), 2) };
        },
        output: (layer, where, out, residual) => {
          let y: Value | null = null;
          for (const p of per) y = p.hooks.output?.(layer, where, y ?? out, residual) ?? y;
          return y;
        },
      };
    },
    init(source, seed) {
      const out = new Map<string, Float32Array>();
      parts.forEach((p, k) => p.init(source, seed + k).forEach((v, n) => out.set(stackName(k, n), v)));
      return out;
    },
    merge: () => ({ refused: 'a stack runs each part through its hooks in turn; merge its parts one by one instead' }),
    peftConfig: () => ({ graft_method: 'stack', parts: parts.map((p) => ({ kind: p.kind, ...p.peftConfig() })) }),
  };
}

/** The values of a stack built from `parts`, named as stackMethod names them. */
export function stackTensors(parts: readonly StackPart[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  parts.forEach((p, k) => p.tensors.forEach((v, n) => out.set(stackName(k, n), v)));
  return out;
}

/** A stack of loaded adapters with its values, ready for generation (`Variant.method`) or logits. */
export function stackOf(spec: ModelSpec, parts: readonly StackPart[]): StackPart {
  return { adapter: stackMethod(spec, parts.map((p) => p.adapter)), tensors: stackTensors(parts) };
}
