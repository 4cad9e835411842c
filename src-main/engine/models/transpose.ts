/** Host-side matrix transposes for weights laid out once at graph build (the graph cache keeps the result). */

type Matrix = Float32Array | Uint16Array;

/** [rows, cols] → [cols, rows], in 64×64 tiles so both sides stay in cache (a 150k-row table takes ~1 s, not ~10). */
export function transposeMatrix<T extends Matrix>(src: T, rows: number, cols: number): T {
  if (src.length !== rows * cols) throw new Error(`transposeMatrix: ${src.length} values, expected ${rows}×${cols}`);
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const o = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[o + c];
      }
    }
  }
  return out;
}
