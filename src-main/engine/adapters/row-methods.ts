/**
 * Non-LoRA methods in a batched KV-cache decode, one method (or none) per row: each method's hooks run over
 * the whole batch and `Where` keeps their result only on the rows that use it, so a row's numbers are exactly
 * those of the method (or the base) alone. That is how base | LoRA | Houlsby | IA³ answer one prompt in one
 * decode. Tensors are graph inputs (`method{k}/NAME`), the rows a bool input [B, 1] per method. A prefix
 * (prefix tuning, or a stack holding one) is given to every row, and the decoder's mask hides its P columns
 * from the rows that do not use it (kv-decoder.ts); one prefix adapter per batch.
 */
import { GraftError } from '../errors.js';
import type { Graph, Value } from '../graph/ir.js';
import type { BlockHooks } from '../models/decoder.js';
import * as op from '../ops/index.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { MethodAdapter } from './method.js';

export interface RowMethod {
  adapter: MethodAdapter;
  tensors: ReadonlyMap<string, Float32Array>;
  /** Which batch rows use it. */
  rows: boolean[];
}

const inputName = (k: number, name: string) => `method${k}/${name}`;
const rowsName = (k: number) => `method${k}/rows`;

/** What decides a decode graph's shape: each method's kind and config (not its values, not its rows). */
export function rowMethodsKey(methods: readonly RowMethod[]): string {
  return methods.map((m) => JSON.stringify({ kind: m.adapter.kind, ...m.adapter.peftConfig() })).join(';');
}

/** The virtual tokens of the batch's prefix adapter (0 without one); refuses two. */
export function rowPrefixTokens(methods: readonly RowMethod[]): number {
  const withPrefix = methods.filter((m) => m.adapter.virtualTokens > 0);
  if (withPrefix.length > 1) throw new GraftError('UNSUPPORTED', 'one prefix adapter per batched decode (their virtual tokens would share the mask columns)', { where: 'adapter' });
  return withPrefix[0]?.adapter.virtualTokens ?? 0;
}

/** Which rows see the prefix (all false without one). */
export function rowPrefixRows(methods: readonly RowMethod[], batch: number): boolean[] {
  return methods.find((m) => m.adapter.virtualTokens > 0)?.rows ?? new Array<boolean>(batch).fill(false);
}

export function rowMethodHooks(g: Graph, methods: readonly RowMethod[], batch: number, tokens: number): BlockHooks {
  rowPrefixTokens(methods);
  const per = methods.map((m, k) => {
    const values = new Map(m.adapter.params.map((p) => [p.name, g.input(inputName(k, p.name), 'float32', p.shape)]));
    return { hooks: m.adapter.hooks(g, values, batch), rows: g.input(rowsName(k), 'bool', [batch, 1]) };
  });
  // y [B·T, n] keeps `yk` on the rows of method k: rows are compared as [B, T·n].
  const pick = (rows: Value, yk: Value, y: Value) => {
    const n = y.shape[1];
    return op.reshape(g, op.where(g, rows, op.reshape(g, yk, [batch, tokens * n]), op.reshape(g, y, [batch, tokens * n])), [batch * tokens, n]);
  };
  return {
    prefix: (layer) => {
      for (const p of per) {
        const got = p.hooks.prefix?.(layer);
        if (got) return got;
      }
      return null;
    },
    linear: (layer, target, x, frozen) => {
      let y: Value | null = null;
      for (const p of per) {
        const yk = p.hooks.linear?.(layer, target, x, frozen);
        if (yk) y = pick(p.rows, yk, y ?? frozen.apply(x));
      }
      return y;
    },
    output: (layer, where, out, residual) => {
      let y: Value | null = null;
      for (const p of per) {
        const yk = p.hooks.output?.(layer, where, out, residual);
        if (yk) y = pick(p.rows, yk, y ?? out);
      }
      return y;
    },
  };
}

export function rowMethodFeeds(methods: readonly RowMethod[]): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  methods.forEach((m, k) => {
    for (const p of m.adapter.params) feeds[inputName(k, p.name)] = { dtype: 'float32', shape: p.shape, data: Float32Array.from(m.tensors.get(p.name)!) };
    feeds[rowsName(k)] = { dtype: 'bool', shape: [m.rows.length, 1], data: Uint8Array.from(m.rows, (r) => (r ? 1 : 0)) };
  });
  return feeds;
}
