/**
 * The decode graph's float precision, generation's `precision` option (options/generate.ts declares it):
 * fused/gpu-forms.ts, fusedHalf, decides what 'auto' is.
 */
export const DECODE_PRECISIONS = ['auto', 'fp32', 'fp16'] as const;
export type DecodePrecision = (typeof DECODE_PRECISIONS)[number];
