import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from './atomic.js';
import {
  GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlType, GgufValueType,
  type GgufTypedArray, type GgufTypedValue, type GgufValueTypeId, type GgufWriteValue,
} from './gguf-types.js';
import { encodeF16 } from './half.js';

/**
 * A tensor to write. `shape` is row-major (HF layout, outermost first); GGUF stores it reversed.
 * Float32Array data is encoded as `type` F32 or F16; raw bytes (any ggml type, e.g. pre-quantized
 * blocks) are written verbatim.
 */
export interface GgufTensorToWrite {
  name: string;
  shape: number[];
  type: 'F32' | 'F16' | number;
  data: Float32Array | Uint8Array;
}

class ByteSink {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) { this.parts.push(b); this.length += b.length; }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  u64(v: number | bigint) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

/** Plain JS values get a type: strings STRING, booleans BOOL, integers UINT32/INT32 (INT64 when larger), others FLOAT32. */
function inferType(v: unknown, key: string): Exclude<GgufValueTypeId, 9> {
  if (typeof v === 'string') return GgufValueType.STRING;
  if (typeof v === 'boolean') return GgufValueType.BOOL;
  if (typeof v === 'bigint') return v < 0n ? GgufValueType.INT64 : GgufValueType.UINT64;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return GgufValueType.FLOAT32;
    if (v >= 0 && v <= 0xffffffff) return GgufValueType.UINT32;
    if (v >= -0x80000000 && v < 0) return GgufValueType.INT32;
    return GgufValueType.INT64;
  }
  throw new GraftError('BAD_INPUT', `GGUF metadata ${key}: cannot store ${typeof v}`, { where: key });
}

/** One item type for a whole plain array: floats win over ints, signed over unsigned. */
function inferArrayType(items: unknown[], key: string): Exclude<GgufValueTypeId, 9> {
  if (items.length === 0) return GgufValueType.UINT32;
  if (items.every((x) => typeof x === 'number')) {
    const nums = items as number[];
    if (!nums.every(Number.isInteger)) return GgufValueType.FLOAT32;
    return nums.some((x) => x < 0) ? GgufValueType.INT32 : GgufValueType.UINT32;
  }
  const t = inferType(items[0], key);
  if (!items.every((x) => inferType(x, key) === t)) throw new GraftError('BAD_INPUT', `GGUF metadata ${key}: array items of mixed types`, { where: key });
  return t;
}

function writeScalar(s: ByteSink, type: number, v: unknown, key: string): void {
  const b = (n: number) => Buffer.alloc(n);
  let buf: Buffer;
  switch (type) {
    case GgufValueType.UINT8: buf = b(1); buf.writeUInt8(Number(v)); break;
    case GgufValueType.INT8: buf = b(1); buf.writeInt8(Number(v)); break;
    case GgufValueType.UINT16: buf = b(2); buf.writeUInt16LE(Number(v)); break;
    case GgufValueType.INT16: buf = b(2); buf.writeInt16LE(Number(v)); break;
    case GgufValueType.UINT32: buf = b(4); buf.writeUInt32LE(Number(v)); break;
    case GgufValueType.INT32: buf = b(4); buf.writeInt32LE(Number(v)); break;
    case GgufValueType.FLOAT32: buf = b(4); buf.writeFloatLE(Number(v)); break;
    case GgufValueType.BOOL: buf = b(1); buf.writeUInt8(v ? 1 : 0); break;
    case GgufValueType.UINT64: buf = b(8); buf.writeBigUInt64LE(BigInt(v as number)); break;
    case GgufValueType.INT64: buf = b(8); buf.writeBigInt64LE(BigInt(v as number)); break;
    case GgufValueType.FLOAT64: buf = b(8); buf.writeDoubleLE(Number(v)); break;
    case GgufValueType.STRING:
      if (typeof v !== 'string') throw new GraftError('BAD_INPUT', `GGUF metadata ${key}: expected a string`, { where: key });
      s.str(v);
      return;
    default:
      throw new GraftError('BAD_INPUT', `GGUF metadata ${key}: unknown type ${type}`, { where: key });
  }
  s.push(buf);
}

function writeValue(s: ByteSink, key: string, v: GgufWriteValue): void {
  const typed = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as GgufTypedValue | GgufTypedArray) : null;
  if (typed?.type === GgufValueType.ARRAY || Array.isArray(v)) {
    const items = typed ? (typed as GgufTypedArray).value : (v as unknown[]);
    const itemType = typed ? (typed as GgufTypedArray).itemType : inferArrayType(items, key);
    s.u32(GgufValueType.ARRAY);
    s.u32(itemType);
    s.u64(items.length);
    for (const it of items) writeScalar(s, itemType, it, key);
    return;
  }
  const type = typed ? typed.type : inferType(v, key);
  s.u32(type);
  writeScalar(s, type, typed ? typed.value : v, key);
}

function tensorPayload(t: GgufTensorToWrite): { type: number; bytes: Uint8Array } {
  const type = t.type === 'F32' ? GgmlType.F32 : t.type === 'F16' ? GgmlType.F16 : t.type;
  const info = GGML_TYPES[type];
  if (!info) throw new GraftError('BAD_INPUT', `tensor ${t.name}: unknown ggml type ${t.type}`, { where: t.name });
  let bytes: Uint8Array;
  if (t.data instanceof Float32Array) {
    if (type === GgmlType.F32) bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else if (type === GgmlType.F16) bytes = encodeF16(t.data);
    else throw new GraftError('BAD_INPUT', `tensor ${t.name}: float data can be written as F32 or F16 only`, { where: t.name });
  } else bytes = t.data;
  const n = t.shape.reduce((a, b) => a * b, 1);
  const want = (n / info.blockSize) * info.typeSize;
  if (bytes.byteLength !== want) throw new GraftError('BAD_INPUT', `tensor ${t.name}: ${bytes.byteLength} bytes, ${info.name}${JSON.stringify(t.shape)} needs ${want}`, { where: t.name });
  return { type, bytes };
}

/**
 * A tensor whose bytes are made only when the file reaches it (a merged model's weights, quantized one at a
 * time), so writing a large model holds one tensor in memory, not all of them. `type` is a ggml type id.
 */
export interface GgufLazyTensor {
  name: string;
  shape: number[];
  type: number;
  bytes: () => Uint8Array;
}

function byteLengthOf(t: { name: string; shape: number[]; type: number }): number {
  const info = GGML_TYPES[t.type];
  if (!info) throw new GraftError('BAD_INPUT', `tensor ${t.name}: unknown ggml type ${t.type}`, { where: t.name });
  const n = t.shape.reduce((a, b) => a * b, 1);
  if ((t.shape[t.shape.length - 1] ?? 1) % info.blockSize !== 0) throw new GraftError('BAD_INPUT', `tensor ${t.name}: rows of ${t.shape[t.shape.length - 1]} are not whole ${info.name} blocks`, { where: t.name });
  return (n / info.blockSize) * info.typeSize;
}

/** A GGUF v3 file as a sequence of chunks: the header (sizes known from shapes and types), then each tensor padded to the alignment. */
export function* ggufChunks(metadata: Record<string, GgufWriteValue>, tensors: GgufLazyTensor[]): Generator<Uint8Array> {
  const alignment = typeof metadata['general.alignment'] === 'number' ? metadata['general.alignment'] : GGUF_DEFAULT_ALIGNMENT;
  const h = new ByteSink();
  h.u32(GGUF_MAGIC);
  h.u32(3);
  h.u64(tensors.length);
  h.u64(Object.keys(metadata).length);
  for (const [k, v] of Object.entries(metadata)) {
    h.str(k);
    writeValue(h, k, v);
  }
  const sizes = tensors.map(byteLengthOf);
  let offset = 0;
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    offset += sizes[i] + pad(sizes[i]);
  });
  yield h.bytes();
  yield Buffer.alloc(pad(h.length));
  for (let i = 0; i < tensors.length; i++) {
    const bytes = tensors[i].bytes();
    if (bytes.byteLength !== sizes[i]) throw new GraftError('INTERNAL', `tensor ${tensors[i].name}: made ${bytes.byteLength} bytes, its header says ${sizes[i]}`, { where: tensors[i].name });
    yield bytes;
    yield Buffer.alloc(pad(sizes[i]));
  }
}

/** Encode a GGUF v3 file as chunks (header, then each tensor padded to the alignment). */
export function encodeGguf(metadata: Record<string, GgufWriteValue>, tensors: GgufTensorToWrite[]): Uint8Array[] {
  const payloads = tensors.map(tensorPayload);
  return [...ggufChunks(metadata, tensors.map((t, i) => ({ name: t.name, shape: t.shape, type: payloads[i].type, bytes: () => payloads[i].bytes })))];
}

/** Write a GGUF v3 file atomically (temp file + fsync + rename). */
export async function writeGguf(path: string, metadata: Record<string, GgufWriteValue>, tensors: GgufTensorToWrite[]): Promise<void> {
  writeFileAtomicSync(path, encodeGguf(metadata, tensors));
}

/** Write a GGUF v3 file atomically, making each tensor's bytes only when it is written. */
export function writeGgufLazy(path: string, metadata: Record<string, GgufWriteValue>, tensors: GgufLazyTensor[]): void {
  writeFileAtomicSync(path, ggufChunks(metadata, tensors));
}
