/**
 * The one-row MatMul that bounds decode (docs/gpu-speed.md), in each form the WebGPU EP offers: fp32 and
 * fp16 MatMul, the same split along K into S batched slices plus a ReduceSum (more workgroups for one
 * row), Gemm with transposed weights (the LM head's form), and MatMulNBits with 4- and 8-bit weights
 * (fp32 and fp16 activations). Each graph is a chain of L pairs [1,K]·[K,N] then [1,N]·[N,K] with
 * distinct weights per link (more bytes than the GPU's L2), so a run's time over 2L is one matvec's
 * cost including its dispatch. Usage: tsx bench/matvec-variants.ts [K,N ...] → one JSON line per row.
 */
import { Graph, type Value } from '../src-main/engine/graph/ir.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { GraphSession } from '../src-main/engine/runtime/session.js';

type Variant = 'f32' | 'f16' | 'splitk_f32' | 'splitk_f16' | 'gemm_tb_f32' | 'gemm_tb_f16' | 'nbits4_f32' | 'nbits4_f16' | 'nbits8_f32' | 'nbits8_f16';
const VARIANTS: Variant[] = ['f32', 'f16', 'splitk_f32', 'splitk_f16', 'gemm_tb_f32', 'gemm_tb_f16', 'nbits4_f32', 'nbits4_f16', 'nbits8_f32', 'nbits8_f16'];
const SPLIT = 8;

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.05;
const f32 = (n: number) => Float32Array.from({ length: n }, rnd);
const f16 = (n: number) => new Uint16Array(n).map(() => 0x2000 + ((seed = (seed * 1103515245 + 12345) >>> 0) & 0x3ff)); // small positive halves
const u8 = (n: number) => new Uint8Array(n).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) & 255);

function data(dtype: 'float32' | 'float16', n: number) {
  return dtype === 'float32' ? f32(n) : f16(n);
}

/** One link: x [1, K] → [1, N] in the variant's form. */
function link(g: Graph, x: Value, K: number, N: number, v: Variant, i: number): Value {
  const dt = v.endsWith('f16') ? 'float16' : 'float32';
  const out = [{ dtype: dt, shape: [1, N] }] as const;
  if (v === 'f32' || v === 'f16') return g.add('MatMul', [x, g.init(`w${i}`, { dtype: dt, shape: [K, N], data: data(dt, K * N) })], [...out])[0];
  if (v.startsWith('gemm_tb')) return g.add('Gemm', [x, g.init(`w${i}`, { dtype: dt, shape: [N, K], data: data(dt, K * N) }), null], [...out], { transB: { i: 1 } })[0];
  if (v.startsWith('splitk')) {
    const S = SPLIT;
    const shape = g.init(`s${i}`, { dtype: 'int64', shape: [3], data: BigInt64Array.of(BigInt(S), 1n, BigInt(K / S)) });
    const xs = g.add('Reshape', [x, shape], [{ dtype: dt, shape: [S, 1, K / S] }])[0];
    const w = g.init(`w${i}`, { dtype: dt, shape: [S, K / S, N], data: data(dt, K * N) });
    const parts = g.add('MatMul', [xs, w], [{ dtype: dt, shape: [S, 1, N] }])[0];
    const axes = g.init(`a${i}`, { dtype: 'int64', shape: [1], data: BigInt64Array.of(0n) });
    return g.add('ReduceSum', [parts, axes], [...out], { keepdims: { i: 0 } })[0];
  }
  const bits = v.startsWith('nbits4') ? 4 : 8;
  const nb = Math.ceil(K / 32);
  const b = g.init(`b${i}`, { dtype: 'uint8', shape: [N, nb, (32 * bits) / 8], data: u8(N * nb * 4 * bits) });
  const scales = g.init(`sc${i}`, { dtype: dt, shape: [N * nb], data: data(dt, N * nb) });
  const zp = g.init(`zp${i}`, { dtype: 'uint8', shape: [bits === 4 ? N * Math.ceil(nb / 2) : N * nb], data: u8(bits === 4 ? N * Math.ceil(nb / 2) : N * nb) });
  const attrs = { K: { i: K }, N: { i: N }, bits: { i: bits }, block_size: { i: 32 }, accuracy_level: { i: 0 } };
  return g.add('MatMulNBits', [x, b, scales, zp], [...out], attrs, 'com.microsoft')[0];
}

function chain(K: number, N: number, v: Variant, L: number): Graph {
  const g = new Graph(`matvec_${v}_${K}x${N}`);
  const dt = v.endsWith('f16') ? 'float16' : 'float32';
  let x = g.input('x', dt, [1, K]);
  for (let l = 0; l < L; l++) {
    x = link(g, link(g, x, K, N, v, 2 * l), N, K, v, 2 * l + 1);
  }
  const axes = g.init('all', { dtype: 'int64', shape: [2], data: BigInt64Array.of(0n, 1n) });
  g.output(g.add('ReduceSum', [x, axes], [{ dtype: dt, shape: [] }], { keepdims: { i: 0 } })[0]);
  return g;
}

function bytesPerLink(K: number, N: number, v: Variant): number {
  const per = v.startsWith('nbits4') ? 0.5 + 2 / 32 : v.startsWith('nbits8') ? 1 + 3 / 32 : v.endsWith('f16') ? 2 : 4;
  return K * N * per;
}

/** Per-run and per-op cost apart: chains of n tiny Adds, timed per run (the decode floor's two parts). */
async function dispatch(device: Awaited<ReturnType<typeof resolveDevice>>) {
  for (const n of [1, 64, 256, 1024]) {
    const g = new Graph(`adds_${n}`);
    let x = g.input('x', 'float32', [1, 64]);
    const one = g.init('one', { dtype: 'float32', shape: [1, 64], data: new Float32Array(64).fill(1e-3) });
    for (let i = 0; i < n; i++) x = g.add('Add', [x, one], [{ dtype: 'float32', shape: [1, 64] }])[0];
    g.output(x);
    const s = await GraphSession.create(g, { device });
    const feed = { x: { dtype: 'float32', shape: [1, 64], data: new Float32Array(64) } } as never;
    for (let i = 0; i < 5; i++) await s.run(feed);
    const runs = 50;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await s.run(feed);
    const ms = (performance.now() - t0) / runs;
    console.log(JSON.stringify({ dispatch_chain: n, ms_per_run: +ms.toFixed(3), us_per_op: +((ms * 1000) / n).toFixed(1) }));
    await s.release();
  }
}

async function main() {
  const device = await resolveDevice('gpu');
  if (process.env.DISPATCH !== '0') await dispatch(device);
  const shapes = (process.argv.slice(2).length ? process.argv.slice(2) : ['576,1536', '896,4864', '1536,8960']).map((s) => s.split(',').map(Number) as [number, number]);
  const only = process.env.VARIANTS?.split(',') as Variant[] | undefined;
  for (const [K, N] of shapes) {
    const L = Math.max(4, Math.min(24, Math.round(3e8 / (K * N * 4 * 2))));
    for (const v of only ?? VARIANTS) {
      try {
        const s = await GraphSession.create(chain(K, N, v, L), { device });
        const dt = v.endsWith('f16') ? 'float16' : 'float32';
        const feed = { x: { dtype: dt, shape: [1, K], data: data(dt, K) } } as never;
        for (let i = 0; i < 3; i++) await s.run(feed);
        const runs = 15;
        const t0 = performance.now();
        for (let i = 0; i < runs; i++) await s.run(feed);
        const ms = (performance.now() - t0) / runs / (2 * L);
        const gbs = bytesPerLink(K, N, v) / (ms / 1000) / 1e9;
        console.log(JSON.stringify({ K, N, variant: v, links: 2 * L, us_per_matvec: +(ms * 1000).toFixed(1), weight_gb_s: +gbs.toFixed(0) }));
        await s.release();
      } catch (e) {
        console.log(JSON.stringify({ K, N, variant: v, error: String((e as Error).message ?? e).slice(0, 300) }));
      }
    }
  }
}

await main();
