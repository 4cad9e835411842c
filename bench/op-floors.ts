/**
 * What one op of each kind a fused decode step is made of costs inside a captured replay on the WebGPU EP
 * (ORT's profiler sees no replays, and its per-kernel timestamps inflate each kernel). Each kind is a graph of
 * L dependent ops of one shape; the cost of an op is the difference between two chain lengths over the ops
 * added, so the replay's own submit and the read-back that ends the timing cancel out.
 * Usage (GPU only): gpu-explore op-floors → one JSON line per kind.
 */
import { Graph, type Value } from '../src-main/engine/graph/ir.js';
import { node, quickGelu, simplifiedLayerNorm, skipSimplifiedLayerNorm } from '../src-main/engine/infer/fused/nodes.js';
import { CapturedGraph } from '../src-main/engine/runtime/captured-graph.js';
import { resolveDevice, type DeviceInfo } from '../src-main/engine/runtime/device.js';
import { saveGraphRef } from '../src-main/engine/runtime/graph-cache.js';
import type { DeviceTensor } from '../src-main/engine/runtime/tensors.js';
import { toDeviceAll, toHostAll } from '../src-main/engine/runtime/transfer.js';

interface Kind {
  name: string;
  /** The chained value's shape. */
  shape: number[];
  /** Whether the chain also carries a residual stream (SkipSimplifiedLayerNormalization's sum). */
  skip?: boolean;
  /** Axis 1 symbolic (the decode graph's token axis). */
  tokensAxis?: boolean;
  link(g: Graph, x: Value, skip: Value | null, i: number): { x: Value; skip: Value | null };
}

let seed = 7;
export const rnd = (n: number, scale: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * scale);
const ones = (g: Graph, name: string, n: number) => g.init(name, { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(1) });

function kinds(): Kind[] {
  const out: Kind[] = [];
  const t = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  for (const [R, D] of [[1, 896], [1, 1024], [1, 576], [1, 768], [1, 1536], [4, 896], [4, 1024], [4, 576]]) {
    out.push({
      name: `skipnorm_${R}x${D}`,
      shape: [R, 1, D],
      skip: true,
      link: (g, x, skip, i) => {
        const r = skipSimplifiedLayerNorm(g, x, skip!, ones(g, `gamma${i}`, D), 1e-6, true);
        return { x: r.normed, skip: r.sum };
      },
    });
  }
  for (const [R, D] of [[1, 896], [1, 1024]]) out.push({ name: `norm_${R}x${D}`, shape: [R, 1, D], link: (g, x, _s, i) => ({ x: simplifiedLayerNorm(g, x, ones(g, `gamma${i}`, D), 1e-6), skip: null }) });
  // The floor: an Add over a row, and elementwise ops of the MLP's width.
  out.push({ name: 'add_1x896', shape: [1, 1, 896], link: (g, x, _s, i) => ({ x: node(g, 'Add', [x, ones(g, `c${i}`, 896)], [t([...x.shape])])[0], skip: null }) });
  out.push({ name: 'quickgelu_1x4864', shape: [1, 1, 4864], link: (g, x) => ({ x: quickGelu(g, x), skip: null }) });
  // The split-K projections' input transpose at one row (only size-1 axes move), and its way back (a Reshape, free).
  // The token axis is symbolic, as in the decode graph: with every shape known, ORT makes such a transpose a Reshape.
  out.push({
    name: 'transpose_1x28x32',
    shape: [1, 1, 28, 32],
    tokensAxis: true,
    link: (g, x, _s, i) => {
      const y = node(g, 'Transpose', [x], [t([28, 1, 1, 32])], { perm: { ints: [2, 0, 1, 3] } })[0];
      const back = g.init(`back${i}`, { dtype: 'int64', shape: [4], data: BigInt64Array.of(1n, -1n, 28n, 32n) });
      return { x: node(g, 'Reshape', [y, back], [t([1, 1, 28, 32])])[0], skip: null };
    },
  });
  return out;
}

function chain(k: Kind, L: number): Graph {
  const g = new Graph(`floor_${k.name}_${L}`);
  let x = g.input('x', 'float32', k.shape);
  if (k.tokensAxis) g.symbolicDims.set(x.name, new Map([[1, 'tokens']]));
  let skip = k.skip ? g.input('skip', 'float32', k.shape) : null;
  for (let i = 0; i < L; i++) ({ x, skip } = k.link(g, x, skip, i));
  g.outputRenamed(x, 'y');
  return g;
}

/** A graph's input or output bound in a captured replay. */
export interface Port {
  name: string;
  shape: number[];
}

/**
 * ms a replay of graph `g` takes, over `reps` replays ended by one read-back (best of 3 rounds); its inputs
 * hold small random values.
 */
export async function replayMs(device: DeviceInfo, g: Graph, inputs: Port[], output: Port, reps: number): Promise<number> {
  const timing = { graph: g.name, nodes: g.nodes.length, serializeMs: 0, writeMs: 0, ortCreateMs: 0 };
  const cg = CapturedGraph.open(await saveGraphRef(g, timing), device, timing);
  const host = (p: Port, s: number) => ({ dtype: 'float32' as const, shape: p.shape, data: rnd(p.shape.reduce((a, b) => a * b, 1), s) });
  const bufs = (await toDeviceAll([...inputs.map((p) => host(p, 1)), host(output, 0)], device)) as DeviceTensor[];
  const y = bufs[inputs.length];
  cg.bind(1, Object.fromEntries(inputs.map((p, k) => [p.name, bufs[k]])), { [output.name]: y });
  cg.run(1); // records
  await toHostAll([y], device);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) cg.run(1);
    await toHostAll([y], device);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  cg.release();
  for (const b of bufs) b.dispose();
  return best;
}

/** µs one link of a chain costs: the replay of `long` links against `short`, over the links added. */
export async function perLinkUs(device: DeviceInfo, build: (L: number) => Graph, inputs: Port[], output: Port, short: number, long: number, reps: number) {
  const a = await replayMs(device, build(short), inputs, output, reps);
  const b = await replayMs(device, build(long), inputs, output, reps);
  return { us: +(((b - a) * 1000) / (long - short)).toFixed(2), ms_per_replay: { [short]: +a.toFixed(3), [long]: +b.toFixed(3) } };
}

export async function opFloors(short = 16, long = 112, reps = 100) {
  const device = await resolveDevice('gpu');
  for (const k of kinds()) {
    const ports = [{ name: 'x', shape: k.shape }, ...(k.skip ? [{ name: 'skip', shape: k.shape }] : [])];
    const r = await perLinkUs(device, (L) => chain(k, L), ports, { name: 'y', shape: k.shape }, short, long, reps);
    console.log(JSON.stringify({ op_floor: k.name, shape: k.shape, us_per_op: r.us, ms_per_replay: r.ms_per_replay }));
  }
}
