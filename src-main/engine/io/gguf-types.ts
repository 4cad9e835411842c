/** Facts of the GGUF container and ggml tensor types (numbers from gguf.h / ggml.h). */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;

export const GgufValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9,
  UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/** ggml tensor type id -> name, elements per block, bytes per block. */
export const GGML_TYPES: Record<number, { name: string; blockSize: number; typeSize: number }> = {
  0: { name: 'F32', blockSize: 1, typeSize: 4 },
  1: { name: 'F16', blockSize: 1, typeSize: 2 },
  2: { name: 'Q4_0', blockSize: 32, typeSize: 18 },
  3: { name: 'Q4_1', blockSize: 32, typeSize: 20 },
  6: { name: 'Q5_0', blockSize: 32, typeSize: 22 },
  7: { name: 'Q5_1', blockSize: 32, typeSize: 24 },
  8: { name: 'Q8_0', blockSize: 32, typeSize: 34 },
  9: { name: 'Q8_1', blockSize: 32, typeSize: 36 },
  10: { name: 'Q2_K', blockSize: 256, typeSize: 84 },
  11: { name: 'Q3_K', blockSize: 256, typeSize: 110 },
  12: { name: 'Q4_K', blockSize: 256, typeSize: 144 },
  13: { name: 'Q5_K', blockSize: 256, typeSize: 176 },
  14: { name: 'Q6_K', blockSize: 256, typeSize: 210 },
  15: { name: 'Q8_K', blockSize: 256, typeSize: 292 },
  24: { name: 'I8', blockSize: 1, typeSize: 1 },
  25: { name: 'I16', blockSize: 1, typeSize: 2 },
  26: { name: 'I32', blockSize: 1, typeSize: 4 },
  27: { name: 'I64', blockSize: 1, typeSize: 8 },
  28: { name: 'F64', blockSize: 1, typeSize: 8 },
  30: { name: 'BF16', blockSize: 1, typeSize: 2 },
};

/** The merged-model GGUFs Graft writes: F16, Q8_0, or llama.cpp's Q4_K_M mix (4-bit, Q6_K where it matters most). */
export const MERGED_GGUF_TYPES = ['F16', 'Q8_0', 'Q4_K_M'] as const;
export type MergedGgufType = (typeof MERGED_GGUF_TYPES)[number];

export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30 } as const;

/** A metadata value as read: integers as numbers (u64/i64 beyond 2^53 as bigint), arrays as JS arrays. */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** A metadata value with its GGUF type spelled out, for writing (a JS number alone cannot say u32 vs f32). */
export interface GgufTypedValue {
  type: Exclude<GgufValueTypeId, 9>;
  value: number | bigint | boolean | string;
}
export interface GgufTypedArray {
  type: 9;
  itemType: Exclude<GgufValueTypeId, 9>;
  value: Array<number | bigint | boolean | string>;
}
export type GgufWriteValue = GgufValue | GgufTypedValue | GgufTypedArray;

export const gguf = {
  u32: (value: number): GgufTypedValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufTypedValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufTypedValue => ({ type: GgufValueType.FLOAT32, value }),
  u64: (value: number | bigint): GgufTypedValue => ({ type: GgufValueType.UINT64, value }),
  array: (itemType: Exclude<GgufValueTypeId, 9>, value: Array<number | bigint | boolean | string>): GgufTypedArray => ({ type: 9, itemType, value }),
};
