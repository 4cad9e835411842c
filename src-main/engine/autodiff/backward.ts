/**
 * Reverse-mode autodiff over the IR. It walks the nodes that lie on a path from a trainable value to
 * the loss, newest first, and asks each op's gradient rule for the gradients of its inputs. Nodes off
 * that path (the frozen base's own work, integer bookkeeping) get no backward nodes at all.
 */
import type { Graph, Value } from '../graph/ir.js';
import { sameShape } from '../graph/ir.js';
import { add } from '../ops/elementwise.js';
import '../ops/index.js';
import { gradRule } from '../ops/registry.js';
import { LayerRecompute, type LayerSpan } from './recompute-layers.js';

export interface BackwardResult {
  /** Gradient of the loss w.r.t. each requested value, in the same order. */
  grads: Value[];
}

/**
 * Appends to `g` the gradient of the scalar `loss` w.r.t. each of `wrt`. `seed` is the gradient of
 * the loss itself (default: 1). A value the loss does not depend on is an error: a trainable tensor
 * that gets no gradient is always a bug in the model or the target list.
 */
export function backward(
  g: Graph,
  loss: Value,
  wrt: readonly Value[],
  seed?: Value,
  o: { recompute?: readonly LayerSpan[] } = {},
): BackwardResult {
  const nodes = g.nodes.slice();
  // Activation checkpointing: the rules of nodes inside these layers read values made again (recompute-layers.ts).
  const remake = o.recompute?.length ? new LayerRecompute(g, o.recompute) : null;
  const wrtIds = new Set(wrt.map((v) => v.id));

  // Forward pass: which values depend on a trainable value.
  const live = new Set<number>(wrtIds);
  for (const n of nodes) {
    if (n.noGrad) continue;
    if (n.inputs.some((i) => i && live.has(i.id))) for (const o of n.outputs) live.add(o.id);
  }
  if (!live.has(loss.id)) throw new Error(`loss ${loss.name} does not depend on any trainable value`);

  const grads = new Map<number, Value>();
  const accumulate = (v: Value, d: Value) => {
    if (!sameShape(v.shape, d.shape)) throw new Error(`gradient of ${v.name} has shape [${d.shape}], expected [${v.shape}]`);
    const prev = grads.get(v.id);
    grads.set(v.id, prev ? add(g, prev, d) : d);
  };
  accumulate(loss, seed ?? g.init('grad_seed', { dtype: loss.dtype, shape: loss.shape, data: ones(loss.dtype, loss.shape) }));

  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (n.noGrad) continue;
    const dOut = n.outputs.map((o) => grads.get(o.id) ?? null);
    if (dOut.every((d) => d === null)) continue;
    const needs = n.inputs.map((i) => i !== null && live.has(i.id));
    if (!needs.some(Boolean)) continue;
    const rule = gradRule(n);
    if (!rule) throw new Error(`no gradient rule for ${n.domain ? n.domain + '::' : ''}${n.op}`);
    const dIn = rule(
      g,
      remake
        ? remake.nodeFor(
            k,
            n,
            dOut.find((d) => d !== null)!,
          )
        : n,
      dOut,
      needs,
    );
    n.inputs.forEach((input, i) => {
      const d = dIn[i];
      if (input && needs[i] && d) accumulate(input, d);
    });
  }

  return {
    grads: wrt.map((v) => {
      const d = grads.get(v.id);
      if (!d) throw new Error(`no gradient reaches ${v.name}`);
      return d;
    }),
  };
}

function ones(dtype: string, shape: readonly number[]) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'float64') return new Float64Array(n).fill(1);
  if (dtype === 'float32') return new Float32Array(n).fill(1);
  throw new Error(`loss must be float, got ${dtype}`);
}
