import { openForRead } from './open-file.js';
import { closeSync, fstatSync } from 'node:fs';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { DEQUANTIZERS } from './gguf-dequant.js';
import { GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgufTypedArray, type GgufTypedValue, type GgufValue, type GgufValueTypeId, type GgufWriteValue } from './gguf-types.js';
import { decodeBf16, decodeF16 } from './half.js';
import { readFully } from './safetensors.js';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (the row length). */
  dims: number[];
  /** Row-major shape (dims reversed), the Hugging Face layout. */
  shape: number[];
  type: number;
  typeName: string;
  fileOffset: number;
  byteLength: number;
}

/** Sequential reader over the header, pulling more of the file as needed so a big vocab never needs the whole file. */
class HeaderCursor {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(private readonly fd: number, private readonly size: number, private readonly file: string) {}

  private need(n: number, what: string): number {
    if (this.pos + n > this.size) {
      throw new GraftError('BAD_FILE', `${this.file}: truncated GGUF header (reading ${printable(what)} at byte ${this.pos})`, { file: this.file, where: printable(what) });
    }
    if (this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.buf = readFully(this.fd, this.pos, len, this.file, what);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }
  u8(w: string) { const at = this.need(1, w); return this.buf[at]; }
  i8(w: string) { const at = this.need(1, w); return this.buf.readInt8(at); }
  u16(w: string) { const at = this.need(2, w); return this.buf.readUInt16LE(at); }
  i16(w: string) { const at = this.need(2, w); return this.buf.readInt16LE(at); }
  u32(w: string) { const at = this.need(4, w); return this.buf.readUInt32LE(at); }
  i32(w: string) { const at = this.need(4, w); return this.buf.readInt32LE(at); }
  f32(w: string) { const at = this.need(4, w); return this.buf.readFloatLE(at); }
  f64(w: string) { const at = this.need(8, w); return this.buf.readDoubleLE(at); }
  u64(w: string): number | bigint { const at = this.need(8, w); const v = this.buf.readBigUInt64LE(at); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
  i64(w: string): number | bigint { const at = this.need(8, w); const v = this.buf.readBigInt64LE(at); return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
  count(w: string): number {
    const v = this.u64(w);
    if (typeof v === 'bigint' || v > this.size) throw new GraftError('BAD_FILE', `${this.file}: truncated or corrupt GGUF header (${printable(w)}: length ${v} exceeds the file size)`, { file: this.file, where: printable(w) });
    return v;
  }
  str(w: string): string {
    const n = this.count(w);
    const at = this.need(n, w);
    return this.buf.toString('utf8', at, at + n);
  }
}

/** A GGUF file (v2/v3) opened lazily: metadata and tensor table at open, tensor bytes on demand. */
export class GgufFile {
  version = 0;
  readonly metadata: Record<string, GgufValue> = {};
  readonly metadataTypes: Record<string, GgufValueTypeId> = {};
  /** The item type of each array value (so a copy writes f32 scores as f32, not as the integers they may look like). */
  readonly metadataItemTypes: Record<string, GgufValueTypeId> = {};
  private readonly infos = new Map<string, GgufTensorInfo>();
  private fd: number | null;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
    try {
      this.parse(fstatSync(fd).size);
    } catch (err) {
      closeSync(fd);
      this.fd = null;
      throw err;
    }
  }

  static open(path: string): GgufFile {
    return new GgufFile(path, openForRead(path));
  }

  private bad(msg: string, where?: string): GraftError {
    // Keys and tensor names come from the file: no control characters reach a terminal.
    return new GraftError('BAD_FILE', `${this.path}: ${printable(msg, 1000)}`, { file: this.path, where: where && printable(where) });
  }

  private parse(size: number): void {
    const c = new HeaderCursor(this.fd!, size, this.path);
    if (size < 24 || c.u32('magic') !== GGUF_MAGIC) throw this.bad('not a GGUF file (bad magic)', 'magic');
    this.version = c.u32('version');
    if (this.version !== 2 && this.version !== 3) {
      throw new GraftError('UNSUPPORTED', `${this.path}: GGUF version ${this.version} is not supported (2 and 3 are)`, { file: this.path, where: 'version' });
    }
    const nTensors = c.count('tensor count');
    const nKv = c.count('metadata count');
    for (let i = 0; i < nKv; i++) {
      const key = c.str(`metadata key #${i}`);
      const type = c.u32(key) as GgufValueTypeId;
      this.metadataTypes[key] = type;
      this.metadata[key] = this.readValue(c, type, key);
    }
    const infos: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str(`tensor #${i} name`);
      const nDims = c.u32(name);
      if (nDims > 8) throw this.bad(`tensor ${name}: ${nDims} dimensions`, name);
      const dims: number[] = [];
      for (let d = 0; d < nDims; d++) {
        const v = c.u64(name);
        if (typeof v === 'bigint') throw this.bad(`tensor ${name}: dimension ${v} too large`, name);
        dims.push(v);
      }
      const type = c.u32(name);
      const off = c.u64(name);
      const t = GGML_TYPES[type];
      if (!t) throw new GraftError('UNSUPPORTED', `${this.path}: tensor ${printable(name)} has unknown ggml type ${type}`, { file: this.path, where: printable(name) });
      const n = dims.reduce((a, b) => a * b, 1);
      if (n % t.blockSize !== 0 || (dims[0] ?? 1) % t.blockSize !== 0) throw this.bad(`tensor ${name}: row of ${dims[0]} is not whole ${t.name} blocks`, name);
      if (typeof off === 'bigint') throw this.bad(`tensor ${name}: offset ${off} too large`, name);
      infos.push({ name, dims, shape: [...dims].reverse(), type, typeName: t.name, fileOffset: off, byteLength: (n / t.blockSize) * t.typeSize });
    }
    const alignment = this.metadata['general.alignment'] ?? GGUF_DEFAULT_ALIGNMENT;
    if (typeof alignment !== 'number' || alignment <= 0 || alignment % 8 !== 0) throw this.bad(`general.alignment ${alignment} is invalid`, 'general.alignment');
    const dataStart = Math.ceil(c.pos / alignment) * alignment;
    const byStart = [...infos].sort((a, b) => a.fileOffset - b.fileOffset);
    for (let i = 0; i < byStart.length; i++) {
      const t = byStart[i];
      if (t.fileOffset % alignment !== 0) throw this.bad(`tensor ${t.name}: offset ${t.fileOffset} is not aligned to ${alignment}`, t.name);
      const prev = byStart[i - 1];
      if (prev && t.fileOffset < prev.fileOffset - dataStart + prev.byteLength) throw this.bad(`tensor ${t.name} overlaps tensor ${prev.name}`, t.name);
      t.fileOffset += dataStart;
      if (t.fileOffset + t.byteLength > size) throw this.bad(`tensor ${t.name} runs past the end of the file (truncated?)`, t.name);
      if (this.infos.has(t.name)) throw this.bad(`tensor ${t.name} appears twice`, t.name);
      this.infos.set(t.name, t);
    }
  }

  private readValue(c: HeaderCursor, type: number, key: string): GgufValue {
    switch (type) {
      case GgufValueType.UINT8: return c.u8(key);
      case GgufValueType.INT8: return c.i8(key);
      case GgufValueType.UINT16: return c.u16(key);
      case GgufValueType.INT16: return c.i16(key);
      case GgufValueType.UINT32: return c.u32(key);
      case GgufValueType.INT32: return c.i32(key);
      case GgufValueType.FLOAT32: return c.f32(key);
      case GgufValueType.BOOL: return c.u8(key) !== 0;
      case GgufValueType.STRING: return c.str(key);
      case GgufValueType.UINT64: return c.u64(key);
      case GgufValueType.INT64: return c.i64(key);
      case GgufValueType.FLOAT64: return c.f64(key);
      case GgufValueType.ARRAY: {
        const itemType = c.u32(key);
        this.metadataItemTypes[key] = itemType as GgufValueTypeId;
        if (itemType === GgufValueType.ARRAY) throw this.bad(`metadata ${key}: nested arrays are not supported`, key);
        const n = c.count(key);
        const out: GgufValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.readValue(c, itemType, key);
        return out;
      }
      default:
        throw this.bad(`metadata ${key}: unknown value type ${type}`, key);
    }
  }

  names(): string[] {
    return [...this.infos.keys()];
  }
  has(name: string): boolean {
    return this.infos.has(name);
  }
  info(name: string): GgufTensorInfo {
    const t = this.infos.get(name);
    if (!t) throw new GraftError('NOT_FOUND', `${this.path}: no tensor named ${name}`, { file: this.path, where: name });
    return t;
  }

  readRaw(name: string): Buffer {
    const t = this.info(name);
    if (this.fd === null) throw new GraftError('INTERNAL', `${this.path}: read after close`, { file: this.path, where: name });
    return readFully(this.fd, t.fileOffset, t.byteLength, this.path, `tensor ${name}`);
  }

  /** The tensor as float32 in row-major (HF) order, dequantizing block formats. */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    const raw = this.readRaw(name);
    const n = t.dims.reduce((a, b) => a * b, 1);
    switch (t.typeName) {
      case 'F32': return new Float32Array(raw.buffer, raw.byteOffset, n);
      case 'F16': return decodeF16(raw, 0, n);
      case 'BF16': return decodeBf16(raw, 0, n);
      case 'F64': return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, n));
      case 'I32': return Float32Array.from(new Int32Array(raw.buffer, raw.byteOffset, n));
      case 'I16': return Float32Array.from(new Int16Array(raw.buffer, raw.byteOffset, n));
      case 'I8': return Float32Array.from(new Int8Array(raw.buffer, raw.byteOffset, n));
    }
    const dq = DEQUANTIZERS[t.typeName];
    if (!dq) throw new GraftError('UNSUPPORTED', `${this.path}: tensor ${name} is ${t.typeName}, which Graft cannot dequantize`, { file: this.path, where: name });
    const out = new Float32Array(n);
    dq(raw, n, out);
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A GGUF file's metadata with the types it was stored with, ready to write again unchanged (gguf-write.ts). */
export function typedMetadata(g: GgufFile): Record<string, GgufWriteValue> {
  const out: Record<string, GgufWriteValue> = {};
  for (const [k, v] of Object.entries(g.metadata)) {
    const type = g.metadataTypes[k];
    if (type === GgufValueType.ARRAY) out[k] = { type: 9, itemType: g.metadataItemTypes[k], value: v as GgufTypedArray['value'] } as GgufTypedArray;
    else out[k] = { type, value: v } as GgufTypedValue;
  }
  return out;
}

export function openGguf(path: string): GgufFile {
  return GgufFile.open(path);
}
