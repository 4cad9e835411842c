/**
 * The one-row projections of a fused decode step, timed inside a captured replay (bench/op-floors.ts's chains):
 * each link is x [1, T, K] → [1, T, N] in the form the decode graph writes (nodes.ts: a plain MatMul, or split
 * along K into S slices with its input transpose and its sum; the LM head's split form), fp32 or fp16 weights,
 * then back to K wide (a Slice or a Pad, ~3 µs). The token axis is symbolic, as in the decode graph. Weights
 * differ from link to link below 100 MB (more than the H200's L2 across a chain); a larger one is shared.
 * Usage (GPU only): gpu-explore matvec-replay [K,N:S,S,...[:f16]] ... → one JSON line per form.
 */
import { Graph, type Value } from '../src-main/engine/graph/ir.js';
import { node, splitKHead, splitKProjection } from '../src-main/engine/infer/fused/nodes.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { perLinkUs } from './op-floors.js';

const DEFAULT = [
  // Qwen2.5-0.5B: qkv, o, gate|up, down (the decode graph's S today: 28, 28, 4, 38), the LM head (8)
  '896,1152:1,7,14,28,56', '896,896:1,7,14,28,56', '896,9728:1,2,4,8,16,28', '4864,896:1,19,38,76,152', 'head:896,151936:4,8,16,28,56',
  '896,9728:4,8,16:f16', 'head:896,151936:8,16,28:f16',
];

function values(n: number, scale: number, half: boolean): Float32Array | Uint16Array {
  if (half) return new Uint16Array(n).map((_, i) => 0x2000 + ((i * 2654435761) >>> 22)); // small positive halves
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i * 2654435761) >>> 0) / 2 ** 32 - 0.5) * scale;
  return a;
}

interface Form {
  K: number;
  N: number;
  S: number;
  head: boolean;
  half: boolean;
}

function chain(f: Form, L: number): Graph {
  const { K, N, S, head, half } = f;
  const dt = half ? 'float16' : 'float32';
  const g = new Graph(`mv_${head ? 'head' : 'proj'}_${K}x${N}_s${S}_${dt}_${L}`);
  let x: Value = g.input('x', 'float32', [1, 1, K]);
  g.symbolicDims.set(x.name, new Map([[1, 'tokens']]));
  const i64 = (name: string, v: number[]) => g.init(name, { dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
  const big = K * N * (half ? 2 : 4) > 100e6;
  let first: Value | null = null;
  const weight = (i: number, shape: number[]) => (big && first ? first : (first = g.init(`w${i}`, { dtype: dt, shape, data: values(K * N, 2 / Math.sqrt(K), half) })));
  const flat = i64('flat', [1, -1]);
  const back = i64('back', [1, -1, K]);
  for (let i = 0; i < L; i++) {
    let a = half ? node(g, 'Cast', [x], [{ dtype: dt, shape: x.shape }], { to: { i: 10 } })[0] : x;
    let y: Value;
    if (head) {
      const x2 = node(g, 'Reshape', [a, flat], [{ dtype: dt, shape: [1, K] }])[0];
      y = splitKHead(g, x2, weight(i, [S, K / S, N]));
    } else if (S === 1) y = node(g, 'MatMul', [a, weight(i, [K, N])], [{ dtype: dt, shape: [1, 1, N] }])[0];
    else y = splitKProjection(g, a, weight(i, [S, K / S, N]));
    if (half) y = node(g, 'Cast', [y], [{ dtype: 'float32', shape: y.shape }], { to: { i: 1 } })[0];
    // back to K wide: the first K values, or the N values and zeros
    const n = y.shape[y.shape.length - 1];
    y =
      n >= K
        ? node(g, 'Slice', [y, i64(`s0_${i}`, [0]), i64(`s1_${i}`, [K]), i64(`sa_${i}`, [-1])], [{ dtype: 'float32', shape: [...y.shape.slice(0, -1), K] }])[0]
        : node(g, 'Pad', [y, i64(`pad_${i}`, [...y.shape.map(() => 0), ...y.shape.slice(0, -1).map(() => 0), K - n])], [{ dtype: 'float32', shape: [...y.shape.slice(0, -1), K] }])[0];
    a = y;
    x = head ? node(g, 'Reshape', [a, back], [{ dtype: 'float32', shape: [1, 1, K] }])[0] : a;
  }
  g.outputRenamed(x, 'y');
  return g;
}

function parse(spec: string): Form[] {
  const parts = spec.split(':');
  const head = parts[0] === 'head';
  if (head) parts.shift();
  const [K, N] = parts[0].split(',').map(Number);
  const half = parts[2] === 'f16';
  return parts[1].split(',').map(Number).filter((S) => K % S === 0 && (K / S) % 4 === 0).map((S) => ({ K, N, S, head, half }));
}

export async function matvecReplay(specs: string[] = DEFAULT, short = 2, long = 8, reps = 50) {
  const device = await resolveDevice('gpu');
  for (const f of (specs.length ? specs : DEFAULT).flatMap(parse)) {
    const port = { name: 'x', shape: [1, 1, f.K] };
    const r = await perLinkUs(device, (L) => chain(f, L), [port], { name: 'y', shape: [1, 1, f.K] }, short, long, reps);
    const bytes = f.K * f.N * (f.half ? 2 : 4);
    console.log(JSON.stringify({ matvec: `${f.head ? 'head ' : ''}${f.K}x${f.N}`, slices: f.S, weights: f.half ? 'f16' : 'f32', us_per_link: r.us, weight_gb_s: +(bytes / (r.us * 1e3)).toFixed(0), ms_per_replay: r.ms_per_replay }));
  }
}
