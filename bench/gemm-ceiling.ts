/**
 * The WebGPU EP's own GEMM throughput at a training step's shapes, measured in the same device call as the
 * step (issue 13: "bounded by the EP's MatMul throughput — measure that ceiling beside your step"). A chain
 * of L pairs [M,K]·[N,K]ᵀ → [M,N] then [M,N]·[K,N]ᵀ → [M,K] (Gemm with transB, the form the step's
 * projections use), distinct weights per link, the result reduced to one number so nothing big comes back.
 * Usage: tsx bench/gemm-ceiling.ts [M,K,N ...] → one JSON line per shape and precision.
 */
import { Graph } from '../src-main/engine/graph/ir.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { GraphSession } from '../src-main/engine/runtime/session.js';

const L = 6;
let seed = 7;
const half = (n: number) => new Uint16Array(n).map(() => 0x2000 + ((seed = (seed * 1103515245 + 12345) >>> 0) & 0x3ff)); // small positive halves
const single = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 0.01);

type Form = 'gemm_tb' | 'matmul';

function chain(M: number, K: number, N: number, dt: 'float16' | 'float32', form: Form = 'gemm_tb'): Graph {
  const g = new Graph('gemm_ceiling');
  const data = dt === 'float16' ? half : single;
  let x = g.input('x', dt, [M, K]);
  for (let i = 0; i < L; i++) {
    // gemm_tb: weights [out, in] as the models store them; matmul: the same bytes stored [in, out]
    const up = g.init(`up${i}`, { dtype: dt, shape: form === 'matmul' ? [K, N] : [N, K], data: data(N * K) });
    const down = g.init(`down${i}`, { dtype: dt, shape: form === 'matmul' ? [N, K] : [K, N], data: data(N * K) });
    const mm = (a: typeof x, w: typeof x, n: number) =>
      form === 'matmul' ? g.add('MatMul', [a, w], [{ dtype: dt, shape: [M, n] }])[0] : g.add('Gemm', [a, w], [{ dtype: dt, shape: [M, n] }], { transB: { i: 1 } })[0];
    x = mm(mm(x, up, N), down, K);
  }
  g.output(g.add('ReduceMax', [x], [{ dtype: dt, shape: [] }], { keepdims: { i: 0 } })[0], 'y');
  return g;
}

const ALL_FORMS = [['float16', 'gemm_tb'], ['float16', 'matmul'], ['float32', 'gemm_tb'], ['float32', 'matmul']] as const;
/** GEMM_FORMS=float16:matmul,float32:matmul measures only those (a device call's time is short). */
const FORMS = process.env.GEMM_FORMS ? ALL_FORMS.filter(([d, f]) => process.env.GEMM_FORMS!.split(',').includes(`${d}:${f}`)) : ALL_FORMS;

export async function gemmCeiling(shapes: [number, number, number][] = [[4096, 896, 4864], [512, 896, 4864], [4096, 1536, 8960], [1024, 4096, 14336]]) {
  const device = await resolveDevice('gpu');
  const rows = [];
  for (const [M, K, N] of shapes)
    for (const [dt, form] of FORMS) {
      const s = await GraphSession.create(chain(M, K, N, dt, form), { device });
      const x = dt === 'float16' ? { dtype: dt, shape: [M, K], data: half(M * K) } : { dtype: dt, shape: [M, K], data: single(M * K) };
      for (let i = 0; i < 3; i++) await s.run({ x });
      const t0 = performance.now();
      const n = 10;
      for (let i = 0; i < n; i++) await s.run({ x });
      const ms = (performance.now() - t0) / n;
      await s.release();
      const r = { bench: 'gemm-ceiling', M, K, N, dtype: dt, form, links: 2 * L, ms_per_run: +ms.toFixed(2), tflops: +((2 * L * 2 * M * K * N) / (ms / 1000) / 1e12).toFixed(1) };
      console.log(JSON.stringify(r));
      rows.push(r);
    }
  return { device: `${device.ep}: ${device.name}`, rows };
}

if (process.argv[1]?.endsWith('gemm-ceiling.ts')) {
  const shapes = process.argv.slice(2).map((s) => s.split(',').map(Number) as [number, number, number]);
  gemmCeiling(shapes.length ? shapes : undefined).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
