/**
 * Small dense linear algebra for compressing a LoRA delta B·A (rank ≤ R) to rank r without ever forming the
 * out×in matrix: thin QR of B and of Aᵀ, then the SVD of the R×R core Rb·Raᵀ. Everything in float64.
 * Matrices are row-major Float64Arrays.
 */

/** Thin QR by modified Gram-Schmidt, run twice for orthogonality. X is n×k; returns Q n×k and R k×k. */
export function thinQr(x: Float64Array, n: number, k: number): { q: Float64Array; r: Float64Array } {
  const q = Float64Array.from(x);
  const r = new Float64Array(k * k);
  let scale = 0;
  for (let i = 0; i < x.length; i++) scale = Math.max(scale, Math.abs(x[i]));
  const tiny = scale * 1e-13 * Math.sqrt(n);
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * k + p] * q[i * k + j];
        r[p * k + j] += dot;
        for (let i = 0; i < n; i++) q[i * k + j] -= dot * q[i * k + p];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * k + j] ** 2;
    norm = Math.sqrt(norm);
    // a column in the span of the previous ones (or zero) contributes nothing: keep it zero in Q
    if (norm <= tiny) {
      for (let i = 0; i < n; i++) q[i * k + j] = 0;
      r[j * k + j] = 0;
      continue;
    }
    r[j * k + j] = norm;
    for (let i = 0; i < n; i++) q[i * k + j] /= norm;
  }
  return { q, r };
}

/**
 * SVD of a square k×k matrix by one-sided Jacobi rotations: M = U·diag(s)·Vᵀ, s descending.
 * Accurate to working precision, fine for the small cores (k = sum of the blended ranks).
 */
export function jacobiSvd(m: Float64Array, k: number): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const g = Float64Array.from(m);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let qc = p + 1; qc < k; qc++) {
        let a = 0, b = 0, c = 0;
        for (let i = 0; i < k; i++) {
          const gp = g[i * k + p], gq = g[i * k + qc];
          a += gp * gp;
          b += gq * gq;
          c += gp * gq;
        }
        if (c === 0 || Math.abs(c) <= 1e-15 * Math.sqrt(a * b)) continue;
        rotated = true;
        const zeta = (b - a) / (2 * c);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t), sn = cs * t;
        for (let i = 0; i < k; i++) {
          const gp = g[i * k + p], gq = g[i * k + qc];
          g[i * k + p] = cs * gp - sn * gq;
          g[i * k + qc] = sn * gp + cs * gq;
          const vp = v[i * k + p], vq = v[i * k + qc];
          v[i * k + p] = cs * vp - sn * vq;
          v[i * k + qc] = sn * vp + cs * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let n = 0;
    for (let i = 0; i < k; i++) n += g[i * k + j] ** 2;
    s[j] = Math.sqrt(n);
  }
  const order = [...s.keys()].sort((x, y) => s[y] - s[x]);
  const u = new Float64Array(k * k), vs = new Float64Array(k * k), ss = new Float64Array(k);
  order.forEach((src, dst) => {
    ss[dst] = s[src];
    for (let i = 0; i < k; i++) {
      u[i * k + dst] = s[src] > 0 ? g[i * k + src] / s[src] : 0;
      vs[i * k + dst] = v[i * k + src];
    }
  });
  return { u, s: ss, v: vs };
}

/** C = A·B for row-major A (n×k) and B (k×m). */
export function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0) continue;
      for (let j = 0; j < m; j++) c[i * m + j] += av * b[p * m + j];
    }
  }
  return c;
}

export function transpose(a: Float64Array, n: number, m: number): Float64Array {
  const t = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = a[i * m + j];
  return t;
}

/**
 * Best rank-`rank` factors of B·A (B out×R, A R×in), as B' (out×rank) and A' (rank×in) sharing √σ.
 * Also returns the singular values of B·A, from which the truncation error follows exactly.
 */
export function compressLowRank(b: Float64Array, a: Float64Array, out: number, inp: number, R: number, rank: number): { b: Float64Array; a: Float64Array; sigma: Float64Array } {
  const qb = thinQr(b, out, R);
  const qa = thinQr(transpose(a, R, inp), inp, R);
  const core = matmul(qb.r, transpose(qa.r, R, R), R, R, R);
  const { u, s, v } = jacobiSvd(core, R);
  const k = Math.min(rank, R);
  // B' = Qb·U_k·√S_k, A' = √S_k·V_kᵀ·Qaᵀ; padded with zero columns/rows up to `rank`
  const us = new Float64Array(R * rank), vs = new Float64Array(R * rank);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < k; j++) {
      const root = Math.sqrt(s[j]);
      us[i * rank + j] = u[i * R + j] * root;
      vs[i * rank + j] = v[i * R + j] * root;
    }
  }
  const bNew = matmul(qb.q, us, out, R, rank);
  const aNew = transpose(matmul(qa.q, vs, inp, R, rank), inp, rank);
  return { b: bNew, a: aNew, sigma: s };
}
