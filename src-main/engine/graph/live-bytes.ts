/**
 * The most bytes a graph's intermediate values hold at once when its nodes run in the order they were
 * added (a topological order, the one ORT's default execution follows): each value is allocated by the node
 * that makes it and freed after its last reader. Shape-only ops (Reshape and its kin) alias their input
 * instead of allocating. This is a lower bound on what an EP needs for one run beside the resident weights
 * and inputs: an allocator that pools buffers by size or releases them late needs more (docs/gpu-speed.md).
 */
import { DTYPE_BYTES, numel, type Graph, type Value } from './ir.js';

/** Ops whose output is a view of their first input in ORT (no new buffer). */
const ALIASING = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);

export interface LiveBytes {
  /** Peak bytes of intermediates alive at once. */
  peak: number;
  /** The step (position in the order) at which the peak was reached. */
  peakAt: number;
  /** The largest values alive at the peak, biggest first (name, bytes). */
  atPeak: { name: string; op: string; bytes: number }[];
  /** Initializers' bytes (resident for the session's life). */
  initializers: number;
  /** Graph inputs' bytes (held by the caller for the run). */
  inputs: number;
  /** Every intermediate's bytes added up: what one run allocates if no buffer is reused within it. */
  allocated: number;
}

const bytesOf = (v: Value) => numel(v.shape) * DTYPE_BYTES[v.dtype];

/**
 * Node indices in the order ONNX Runtime's default plan runs them (GraphViewer: a reverse depth-first walk from
 * the nodes nothing reads, each node's producers visited lowest index first, nodes emitted after their inputs),
 * so a graph's peak can be read under ORT's order as well as under the order it was built in.
 */
export function ortDefaultOrder(g: Graph): number[] {
  const producer = new Map<Value, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const read = new Set<number>();
  const inputsOf = g.nodes.map((n) => {
    const ps = new Set<number>();
    for (const v of n.inputs) {
      const p = v ? producer.get(v) : undefined;
      if (p !== undefined) ps.add(p);
    }
    ps.forEach((p) => read.add(p));
    // pushed highest index first, so the lowest is popped (visited) first
    return [...ps].sort((a, b) => b - a);
  });
  const stack: [number, boolean][] = [];
  g.nodes.forEach((_, i) => {
    if (!read.has(i)) stack.push([i, false]);
  });
  const visited = new Uint8Array(g.nodes.length);
  const order: number[] = [];
  while (stack.length) {
    const [i, sink] = stack.pop()!;
    if (sink) {
      order.push(i);
      continue;
    }
    if (visited[i]) continue;
    visited[i] = 1;
    stack.push([i, true]);
    for (const p of inputsOf[i]) if (!visited[p]) stack.push([p, false]);
  }
  return order;
}

/**
 * The storage of each value in a run of `order`: `owns(o)` is the buffer an output allocates (null for an alias
 * or a constant), `storage(v)` the buffer a value reads, `endsAt(r, i)` whether buffer r is free after step i
 * (its last reader ran, nothing reads it, and it is no graph output).
 */
function lifetimes(g: Graph, order: readonly number[]) {
  const constant = new Set<Value>([...g.initializers.keys(), ...g.inputs]);
  const root = new Map<Value, Value>();
  const storage = (v: Value) => root.get(v) ?? v;
  const lastUse = new Map<Value, number>();
  order.forEach((k, i) => {
    const n = g.nodes[k];
    for (const v of n.inputs) if (v) lastUse.set(storage(v), i);
    if (ALIASING.has(n.op) && n.inputs[0]) root.set(n.outputs[0], storage(n.inputs[0]));
  });
  const kept = new Set(g.outputs.map(storage));
  return {
    storage,
    owns: (o: Value): Value | null => (storage(o) !== o || constant.has(o) ? null : o),
    endsAt: (r: Value, i: number) => !kept.has(r) && (lastUse.get(r) ?? -1) <= i,
  };
}

export function liveBytes(g: Graph, top = 8, order: readonly number[] = g.nodes.map((_, i) => i)): LiveBytes {
  const { storage, owns, endsAt } = lifetimes(g, order);
  const producer = new Map<Value, string>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n.op);
  const live = new Set<Value>();
  let now = 0;
  let allocated = 0;
  let peak = 0;
  let peakAt = -1;
  let atPeak: LiveBytes['atPeak'] = [];
  order.forEach((k, i) => {
    const n = g.nodes[k];
    for (const o of n.outputs) {
      const r = owns(o);
      if (!r || live.has(r)) continue;
      live.add(r);
      now += bytesOf(r);
      allocated += bytesOf(r);
    }
    if (now > peak) {
      peak = now;
      peakAt = i;
      atPeak = [...live]
        .map((v) => ({ name: v.name, op: producer.get(v) ?? '?', bytes: bytesOf(v) }))
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, top);
    }
    // values whose last reader was this node (or that nothing reads) are freed
    for (const v of [...n.inputs, ...n.outputs]) {
      if (!v) continue;
      const r = storage(v);
      if (!live.has(r) || !endsAt(r, i)) continue;
      live.delete(r);
      now -= bytesOf(r);
    }
  });
  let initializers = 0;
  for (const v of g.initializers.keys()) initializers += bytesOf(v);
  let inputs = 0;
  for (const v of g.inputs) inputs += bytesOf(v);
  return { peak, peakAt, atPeak, initializers, inputs, allocated };
}

/**
 * What the WebGPU EP's 'simple' buffer cache holds after a run of `g` in `order` (ORT's default: ortDefaultOrder):
 * a released buffer is kept for a later request of exactly its size (rounded up to 16 bytes), and only becomes
 * available when the EP next flushes its pending dispatches (every `flushEvery` kernels); a request no kept
 * buffer fits creates one, and nothing is ever destroyed. A model of the EP, to set beside measured GPU memory.
 */
export function simpleCachePool(g: Graph, order: readonly number[], flushEvery = 16): { created: number; buffers: number; bySize: Map<number, { count: number; ops: Set<string> }> } {
  const { storage, owns, endsAt } = lifetimes(g, order);
  const free = new Map<number, number>(); // size → buffers available
  let pending: number[] = [];
  const live = new Map<Value, number>();
  let created = 0;
  let buffers = 0;
  let dispatched = 0;
  const bySize = new Map<number, { count: number; ops: Set<string> }>();
  order.forEach((k, i) => {
    const n = g.nodes[k];
    for (const o of n.outputs) {
      const r = owns(o);
      if (!r || live.has(r)) continue;
      const size = Math.ceil(bytesOf(r) / 16) * 16;
      const have = free.get(size) ?? 0;
      if (have > 0) free.set(size, have - 1);
      else {
        created += size;
        buffers++;
        const b = bySize.get(size) ?? { count: 0, ops: new Set<string>() };
        b.count++;
        b.ops.add(n.op);
        bySize.set(size, b);
      }
      live.set(r, size);
    }
    for (const v of [...n.inputs, ...n.outputs]) {
      if (!v) continue;
      const r = storage(v);
      const size = live.get(r);
      if (size === undefined || !endsAt(r, i)) continue;
      live.delete(r);
      pending.push(size);
    }
    if (!ALIASING.has(n.op) && ++dispatched % flushEvery === 0) {
      for (const s of pending) free.set(s, (free.get(s) ?? 0) + 1);
      pending = [];
    }
  });
  return { created, buffers, bySize };
}
