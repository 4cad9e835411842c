/**
 * 8-bit floats E4M3 (OCP "FN" variant: bias 7, no infinities, 0x7f/0xff are NaN), normalised so the
 * largest finite value (448) is 1. NF4's double quantization stores block absmax values in this code.
 */

function e4m3Value(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 15;
  const m = code & 7;
  if (e === 15 && m === 7) return NaN;
  return sign * (e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7));
}

/** Value of each code divided by 448; the two NaN codes map to ±1 so a table lookup never yields NaN. */
export const E4M3_UNIT = Float32Array.from({ length: 256 }, (_, c) => {
  const v = e4m3Value(c);
  return Number.isNaN(v) ? (c & 0x80 ? -1 : 1) : v / 448;
});

// Finite codes sorted by value, for a nearest-value binary search.
const sorted = Array.from({ length: 256 }, (_, c) => c)
  .filter((c) => !Number.isNaN(e4m3Value(c)) && c !== 0x80)
  .sort((a, b) => E4M3_UNIT[a] - E4M3_UNIT[b]);
const sortedValues = Float64Array.from(sorted, (c) => E4M3_UNIT[c]);

/** The code whose normalised value is nearest to x (x is clamped to [-1, 1]). */
export function e4m3Nearest(x: number): number {
  let lo = 0,
    hi = sortedValues.length - 1;
  if (x <= sortedValues[lo]) return sorted[lo];
  if (x >= sortedValues[hi]) return sorted[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (sortedValues[mid] <= x) lo = mid;
    else hi = mid;
  }
  return x - sortedValues[lo] <= sortedValues[hi] - x ? sorted[lo] : sorted[hi];
}
