/**
 * The one-row products that bound decode, timed by the GPU's own timestamps (ORT's profile, 'Api' events),
 * so neither the host's dispatch cost nor a run's read-back enters the figure (bench/matvec-variants.ts
 * timed whole runs, which mixed both in). Each form is a chain of links [1,K]·[K,N] then [1,N]·[N,K] with
 * distinct weights per link; a row gives the GPU µs of each kernel the form dispatches per link, and the
 * weight bytes it reads per µs. Forms: MatMul fp32/fp16; split-K as S batched slices + ReduceSum; the
 * weight kept transposed [N, K] and read as Mul + ReduceSum over its rows (one workgroup per output);
 * Einsum; MatMulNBits 8- and 4-bit without zero points (symmetric codes); MatMulNBitsMlp (gate and up
 * in one 4-bit decode kernel with SiLU·up).
 * Usage: tsx bench/matvec-profile.ts [K,N ...]  (VARIANTS=a,b to pick) → one JSON line per row.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Graph, type DType, type Value } from '../src-main/engine/graph/ir.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { GraphSession } from '../src-main/engine/runtime/session.js';

const VARIANTS = ['f32', 'f16', 'splitk4_f32', 'splitk8_f32', 'splitk16_f32', 'splitk32_f32', 'splitk8_f16', 'splitk16_f16', 'rowsum_f32', 'rowsum_f16', 'einsum_f32', 'nbits8_f32', 'nbits8_f16', 'nbits4_f32', 'nbits4_f16', 'mlp4_f32', 'mlp4_f16'] as const;
type Variant = (typeof VARIANTS)[number];

let seed = 12345;
const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
const fdata = (dt: DType, n: number) => (dt === 'float32' ? Float32Array.from({ length: n }, () => (next() / 2 ** 32 - 0.5) * 0.05) : new Uint16Array(n).map(() => 0x2000 + (next() & 0x3ff)));
const bytes = (n: number) => new Uint8Array(n).map(() => next() & 255);
const i64 = (g: Graph, name: string, v: number[]) => g.init(name, { dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });

function nbits(g: Graph, x: Value, K: number, N: number, bits: 4 | 8, tag: string): Value {
  const nb = Math.ceil(K / 32);
  const b = g.init(`b${tag}`, { dtype: 'uint8', shape: [N, nb, 4 * bits], data: bytes(N * nb * 4 * bits) });
  const s = g.init(`s${tag}`, { dtype: x.dtype, shape: [N * nb], data: fdata(x.dtype, N * nb) });
  const attrs = { K: { i: K }, N: { i: N }, bits: { i: bits }, block_size: { i: 32 }, accuracy_level: { i: 0 } };
  return g.add('MatMulNBits', [x, b, s], [{ dtype: x.dtype, shape: [1, N] }], attrs, 'com.microsoft')[0];
}

/** One link: x [1, K] → [1, N] in the variant's form. */
function link(g: Graph, x: Value, K: number, N: number, v: Variant, i: number): Value {
  const dt: DType = v.endsWith('f16') ? 'float16' : 'float32';
  const out = { dtype: dt, shape: [1, N] };
  if (v === 'f32' || v === 'f16') return g.add('MatMul', [x, g.init(`w${i}`, { dtype: dt, shape: [K, N], data: fdata(dt, K * N) })], [out])[0];
  if (v.startsWith('splitk')) {
    const S = Number(v.slice(6, v.indexOf('_')));
    const xs = g.add('Reshape', [x, i64(g, `xs${i}`, [S, 1, K / S])], [{ dtype: dt, shape: [S, 1, K / S] }])[0];
    const parts = g.add('MatMul', [xs, g.init(`w${i}`, { dtype: dt, shape: [S, K / S, N], data: fdata(dt, K * N) })], [{ dtype: dt, shape: [S, 1, N] }])[0];
    return g.add('ReduceSum', [parts, i64(g, `a${i}`, [0])], [out], { keepdims: { i: 0 } })[0];
  }
  if (v.startsWith('rowsum')) {
    const prod = g.add('Mul', [x, g.init(`w${i}`, { dtype: dt, shape: [N, K], data: fdata(dt, K * N) })], [{ dtype: dt, shape: [N, K] }])[0];
    const sums = g.add('ReduceSum', [prod, i64(g, `a${i}`, [1])], [{ dtype: dt, shape: [N] }], { keepdims: { i: 0 } })[0];
    return g.add('Reshape', [sums, i64(g, `r${i}`, [1, N])], [out])[0];
  }
  if (v === 'einsum_f32') return g.add('Einsum', [x, g.init(`w${i}`, { dtype: dt, shape: [K, N], data: fdata(dt, K * N) })], [out], { equation: { s: 'bk,kn->bn' } })[0];
  if (v.startsWith('nbits')) return nbits(g, x, K, N, v.startsWith('nbits4') ? 4 : 8, `${i}`);
  // mlp4: silu(x·Gᵀ)·(x·Uᵀ) in one MatMulNBitsMlp; the link back ([1,N]→[1,K]) is a plain 4-bit MatMulNBits.
  if (i % 2 === 1) return nbits(g, x, K, N, 4, `${i}`);
  const nb = Math.ceil(K / 32);
  const w = (t: string) => [g.init(`${t}b${i}`, { dtype: 'uint8', shape: [N, nb, 16], data: bytes(N * nb * 16) }), g.init(`${t}s${i}`, { dtype: dt, shape: [N * nb], data: fdata(dt, N * nb) })];
  const [gb, gs] = w('g');
  const [ub, us] = w('u');
  const attrs = { K: { i: K }, N: { i: N }, bits: { i: 4 }, block_size: { i: 32 }, accuracy_level: { i: 0 }, activation: { s: 'silu' } };
  return g.add('MatMulNBitsMlp', [x, null, null, gb, gs, null, ub, us, null], [out], attrs, 'com.microsoft')[0];
}

function linkBytes(K: number, N: number, v: Variant): number {
  if (v.startsWith('mlp4')) return 2 * K * N * (0.5 + (v.endsWith('f16') ? 2 : 4) / 32);
  if (v.startsWith('nbits')) return K * N * ((v.startsWith('nbits4') ? 0.5 : 1) + (v.endsWith('f16') ? 2 : 4) / 32);
  return K * N * (v.endsWith('f16') ? 2 : 4);
}

/** Weight bytes of one pair of links (mlp4's way back is a plain 4-bit MatMulNBits). */
function pairBytes(K: number, N: number, v: Variant): number {
  return linkBytes(K, N, v) + linkBytes(N, K, v.startsWith('mlp4') ? (v.replace('mlp4', 'nbits4') as Variant) : v);
}

/** GPU µs per profiled kernel, by program, over `runs` runs (the profile's 'Api' events). */
function gpuTimes(file: string, runs: number): Record<string, number> {
  const by: Record<string, number> = {};
  for (const e of JSON.parse(readFileSync(file, 'utf8')) as { cat?: string; name?: string; dur?: number }[]) {
    if (e.cat !== 'Api') continue;
    const parts = (e.name ?? '').split('&');
    const key = parts.slice(1).join('&') || parts[0];
    by[key] = (by[key] ?? 0) + (e.dur ?? 0) / runs;
  }
  return by;
}

async function main() {
  const device = await resolveDevice((process.env.DEVICE as 'gpu' | 'cpu') ?? 'gpu');
  const shapes = (process.argv.slice(2).length ? process.argv.slice(2) : ['896,4864', '1536,8960', '4096,14336', '896,151936']).map((s) => s.split(',').map(Number) as [number, number]);
  const only = process.env.VARIANTS?.split(',') as Variant[] | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'matvec-prof-'));
  for (const [K, N] of shapes) {
    const L = Math.max(1, Math.min(12, Math.round(4e8 / (K * N * 4 * 2))));
    for (const v of only ?? VARIANTS) {
      if (v.startsWith('splitk') && K % Number(v.slice(6, v.indexOf('_'))) !== 0) continue;
      const dt: DType = v.endsWith('f16') ? 'float16' : 'float32';
      try {
        const g = new Graph(`matvec_${v}_${K}x${N}`);
        let x = g.input('x', dt, [1, K]);
        for (let l = 0; l < L; l++) x = link(g, link(g, x, K, N, v, 2 * l), N, K, v, 2 * l + 1);
        g.output(x);
        const prefix = path.join(dir, `${v}_${K}x${N}`);
        process.env.GRAFT_ORT_PROFILE = prefix;
        const s = await GraphSession.create(g, { device });
        delete process.env.GRAFT_ORT_PROFILE;
        const feed = { x: { dtype: dt, shape: [1, K], data: fdata(dt, K) } } as never;
        const runs = 6;
        for (let r = 0; r < runs; r++) await s.run(feed);
        await s.release();
        const file = readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.startsWith(prefix));
        if (!file) throw new Error('no profile written');
        // the first run compiles shaders and is in the profile too: its kernels' GPU time is not inflated by that
        const per = gpuTimes(file, runs);
        rmSync(file);
        const total = Object.values(per).reduce((a, b) => a + b, 0);
        const usLink = total / (2 * L);
        const kernels = Object.fromEntries(Object.entries(per).map(([k, us]) => [k, +(us / (2 * L)).toFixed(1)]));
        console.log(JSON.stringify({ K, N, variant: v, links: 2 * L, gpu_us_per_link: +usLink.toFixed(1), weight_gb_s: +((pairBytes(K, N, v) / 2 / (usLink * 1e3))).toFixed(0), kernels }));
      } catch (e) {
        console.log(JSON.stringify({ K, N, variant: v, error: String((e as Error).message ?? e).slice(0, 300) }));
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
