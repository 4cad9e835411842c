/** IEEE half (F16) and bfloat16 (BF16) <-> float32 conversions; the file formats store these as raw u16. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Round-to-nearest-even, like numpy/torch `.half()`, so re-encoding a decoded F16 is lossless. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half; // a carry into the exponent is the correct rounding (up to Inf)
}

export function bf16ToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

export function f32ToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;
/** Every half's float32 value (256 KiB, built on first use): decoding is then one lookup an element. */
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** Decode `n` little-endian u16 halves starting at `bytes[offset]`. */
export function decodeF16(bytes: Uint8Array, offset: number, n: number, out = new Float32Array(n)): Float32Array {
  const t = halfTable();
  for (let i = 0; i < n; i++) out[i] = t[bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8)];
  return out;
}

export function decodeBf16(bytes: Uint8Array, offset: number, n: number, out = new Float32Array(n)): Float32Array {
  const o32 = new Uint32Array(out.buffer, out.byteOffset, n);
  for (let i = 0; i < n; i++) o32[i] = ((bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8)) << 16) >>> 0;
  return out;
}

/**
 * Halves of the float32 bit patterns x32[from, to) into o16, rounded to nearest even as f32ToF16 rounds.
 * Integer work only (a small integer in V8 stays unboxed): the first training step of a 1.5B model encodes
 * 1.3 billion weights, ~2 ns each here against ~40 through f32ToF16. Self-contained (no outside names):
 * the weight threads (weight-threads.ts) run this same function from its source text.
 */
export function encodeF16Bits(x32: Int32Array, o16: Uint16Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const x = x32[i];
    const exp = (x >>> 23) & 0xff;
    const sign = (x >>> 16) & 0x8000;
    let h: number;
    if (exp > 112 && exp < 143) {
      // half exponent 1..30: sign, rebased exponent, top 10 mantissa bits, round to nearest even
      h = sign | ((exp - 112) << 10) | ((x >>> 13) & 0x3ff);
      const rem = x & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the correct rounding (up to Inf)
    } else if (exp === 0xff) h = sign | 0x7c00 | (x & 0x7fffff ? 0x200 : 0);
    else if (exp >= 143) h = sign | 0x7c00;
    else if (exp < 102) h = sign; // below half the smallest subnormal
    else {
      // a half subnormal: the mantissa with its implicit bit, shifted into place, rounded to nearest even
      const mant = (x & 0x7fffff) | 0x800000;
      const shift = 126 - exp;
      h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && h & 1)) h++;
      h |= sign;
    }
    o16[i] = h;
  }
}

/** fp16 bits of an fp32 array in a new array, rounded to nearest even (encodeF16Bits: ~2 ns a value, not f32ToF16's ~40). */
export function f16Bits(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  encodeF16Bits(new Int32Array(src.buffer, src.byteOffset, src.length), out, 0, src.length);
  return out;
}

/** Little-endian halves of `src`, rounded as f32ToF16 does (Float32Array input through encodeF16Bits). */
export function encodeF16(src: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(src.length * 2);
  const o16 = new Uint16Array(out.buffer, out.byteOffset, src.length); // Buffer pool slices are 8-byte aligned
  if (!(src instanceof Float32Array)) {
    for (let i = 0; i < src.length; i++) o16[i] = f32ToF16(src[i]);
    return out;
  }
  encodeF16Bits(new Int32Array(src.buffer, src.byteOffset, src.length), o16, 0, src.length);
  return out;
}

export function encodeBf16(src: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(src.length * 2);
  for (let i = 0; i < src.length; i++) out.writeUInt16LE(f32ToBf16(src[i]), 2 * i);
  return out;
}
