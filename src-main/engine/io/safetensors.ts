import { openForRead } from './open-file.js';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { writeFileAtomicSync } from './atomic.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './half.js';

/** Bytes per element of every dtype the safetensors format defines. */
export const SAFETENSORS_DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute position of the tensor's bytes in the file. */
  fileOffset: number;
  byteLength: number;
}

// A header larger than this is not a safetensors header (the reference implementation caps it at 100 MB).
const MAX_HEADER = 100_000_000;

/** `length` bytes at `pos`, into `into` when given (its first `length` bytes) or a new buffer. */
export function readFully(fd: number, pos: number, length: number, file: string, where?: string, into?: Uint8Array): Buffer {
  const buf = into ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, Math.min(length - done, 1 << 30), pos + done);
    if (n === 0) throw new GraftError('BAD_FILE', `${file}: truncated${where ? ` in ${where}` : ''}`, { file, where });
    done += n;
  }
  return buf;
}

/**
 * A safetensors file opened lazily: the header is parsed and validated at open; each tensor's bytes
 * are read from disk only when asked for, so multi-GB files cost no memory until used.
 */
export class SafetensorsFile {
  readonly metadata: Record<string, string>;
  private readonly infos = new Map<string, SafetensorsTensorInfo>();
  private fd: number | null;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
    try {
      this.metadata = this.parseHeader(fstatSync(fd).size);
    } catch (err) {
      closeSync(fd);
      this.fd = null;
      throw err;
    }
  }

  static open(path: string): SafetensorsFile {
    return new SafetensorsFile(path, openForRead(path));
  }

  private bad(msg: string, where?: string): GraftError {
    // Tensor names and parser words come from the file: no control characters reach a terminal.
    return new GraftError('BAD_FILE', `${this.path}: ${printable(msg, 1000)}`, { file: this.path, where: where && printable(where) });
  }

  private parseHeader(fileSize: number): Record<string, string> {
    if (fileSize < 8) throw this.bad(`file is ${fileSize} bytes, too short for a safetensors header`);
    const lenBuf = readFully(this.fd!, 0, 8, this.path, 'header length');
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER) throw this.bad(`header length ${headerLen} is not plausible`, 'header');
    if (8 + headerLen > fileSize) throw this.bad(`header length ${headerLen} runs past the end of the file (${fileSize} bytes)`, 'header');
    const headerBytes = readFully(this.fd!, 8, headerLen, this.path, 'header');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      throw this.bad('header is not valid UTF-8', 'header');
    }
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (err) {
      throw this.bad(`header is not valid JSON (${(err as Error).message})`, 'header');
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw this.bad('header is not a JSON object', 'header');
    const dataStart = 8 + headerLen;
    const dataSize = fileSize - dataStart;
    let metadata: Record<string, string> = {};
    const ranges: Array<[number, number, string]> = [];
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw !== 'object' || raw === null) throw this.bad('__metadata__ is not an object', '__metadata__');
        metadata = raw as Record<string, string>;
        continue;
      }
      const info = this.parseEntry(name, raw, dataStart);
      const [begin, end] = [info.fileOffset - dataStart, info.fileOffset - dataStart + info.byteLength];
      if (end > dataSize) {
        throw this.bad(`tensor ${name} ends at data byte ${end} but the file holds only ${dataSize} data bytes (truncated?)`, name);
      }
      ranges.push([begin, end, name]);
      this.infos.set(name, info);
    }
    // As the reference reader: the tensors tile the data exactly, from byte 0 to the end of the file. A header
    // length that is off by a byte still parses (padding is spaces) but shifts every tensor; this catches it.
    ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let covered = 0;
    for (const [begin, end, name] of ranges) {
      if (begin < covered) throw this.bad(`tensor ${name} overlaps the tensor before it`, name);
      if (begin > covered) throw this.bad(`tensor ${name} begins at data byte ${begin}, but the tensors before it end at ${covered}`, name);
      covered = end;
    }
    if (covered !== dataSize) {
      throw this.bad(`the tensors end at data byte ${covered} but the file holds ${dataSize} data bytes (is the header length ${headerLen} right?)`, 'header');
    }
    return metadata;
  }

  private parseEntry(name: string, raw: unknown, dataStart: number): SafetensorsTensorInfo {
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw this.bad(`tensor ${name}: entry is not an object`, name);
    if (typeof e.dtype !== 'string' || !(e.dtype in SAFETENSORS_DTYPE_BYTES)) {
      throw this.bad(`tensor ${name}: unknown dtype ${JSON.stringify(e.dtype)}`, name);
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw this.bad(`tensor ${name}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`, name);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw this.bad(`tensor ${name}: data_offsets ${JSON.stringify(offs)} are not [begin, end]`, name);
    }
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[dtype];
    const byteLength = offs[1] - offs[0];
    if (byteLength !== expected) {
      throw this.bad(`tensor ${name}: ${byteLength} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`, name);
    }
    return { name, dtype, shape: [...shape], fileOffset: dataStart + offs[0], byteLength };
  }

  names(): string[] {
    return [...this.infos.keys()];
  }

  has(name: string): boolean {
    return this.infos.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.infos.get(name);
    if (!info) throw new GraftError('NOT_FOUND', `${this.path}: no tensor named ${name}`, { file: this.path, where: name });
    return info;
  }

  /** The tensor's bytes exactly as stored (little-endian), in a buffer of its own (offset 0, so typed views are aligned). */
  readRaw(name: string): Buffer {
    const info = this.info(name);
    if (this.fd === null) throw new GraftError('INTERNAL', `${this.path}: read after close`, { file: this.path, where: name });
    return readFully(this.fd, info.fileOffset, info.byteLength, this.path, `tensor ${name}`);
  }

  /** Any numeric dtype as float32 (F16/BF16 widened exactly; integers converted). */
  readF32(name: string): Float32Array {
    const { dtype } = this.info(name);
    return toF32(this.readRaw(name), dtype, this.path, name);
  }

  /**
   * A float tensor (F32, F16, BF16) as float32 in the first elements of `out` (a view of them is returned),
   * or null when `out` is too small or the tensor is of another dtype: a reader reusing one buffer for
   * tensor after tensor does not page in fresh memory for each.
   */
  readF32Into(name: string, out: Float32Array): Float32Array | null {
    const info = this.info(name);
    const n = info.byteLength / SAFETENSORS_DTYPE_BYTES[info.dtype];
    if (n > out.length) return null;
    const view = out.subarray(0, n) as Float32Array<ArrayBuffer>;
    if (info.dtype === 'F32') {
      if (this.fd === null) throw new GraftError('INTERNAL', `${this.path}: read after close`, { file: this.path, where: name });
      readFully(this.fd, info.fileOffset, info.byteLength, this.path, `tensor ${name}`, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      return view;
    }
    if (info.dtype === 'F16') return decodeF16(this.readRaw(name), 0, n, view);
    if (info.dtype === 'BF16') return decodeBf16(this.readRaw(name), 0, n, view);
    return null;
  }

  /** Integer tensors (I64/I32/...) as plain numbers, e.g. token ids. */
  readInts(name: string): number[] {
    const { dtype } = this.info(name);
    const raw = this.readRaw(name);
    if (dtype === 'I64' || dtype === 'U64') {
      const v = dtype === 'I64' ? new BigInt64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8) : new BigUint64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      return Array.from(v, (x) => Number(x));
    }
    if (dtype.startsWith('I') || dtype.startsWith('U') || dtype === 'BOOL') return Array.from(toF32(raw, dtype, this.path, name));
    throw new GraftError('BAD_INPUT', `${this.path}: tensor ${name} is ${dtype}, not an integer tensor`, { file: this.path, where: name });
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export function openSafetensors(path: string): SafetensorsFile {
  return SafetensorsFile.open(path);
}

/** Convert little-endian stored bytes of `dtype` to float32. */
export function toF32(raw: Uint8Array, dtype: SafetensorsDtype, file: string, name: string): Float32Array {
  const n = raw.byteLength / SAFETENSORS_DTYPE_BYTES[dtype];
  // Tensors sit at any byte offset; typed views need alignment. slice() is a memcpy into a fresh buffer
  // (Uint8Array.from walked it element by element: seconds a gigabyte).
  const copied = raw.byteOffset % 8 !== 0;
  const aligned = copied ? raw.slice() : raw;
  const b = aligned.buffer, o = aligned.byteOffset;
  switch (dtype) {
    // A buffer that is the tensor's alone (readRaw's, or the copy above) is viewed, not copied again.
    case 'F32': return copied || (o === 0 && b.byteLength === raw.byteLength) ? new Float32Array(b, o, n) : new Float32Array(b.slice(o, o + raw.byteLength));
    case 'F16': return decodeF16(aligned, 0, n);
    case 'BF16': return decodeBf16(aligned, 0, n);
    case 'F64': return Float32Array.from(new Float64Array(b, o, n));
    case 'I64': return Float32Array.from(new BigInt64Array(b, o, n), (x) => Number(x));
    case 'U64': return Float32Array.from(new BigUint64Array(b, o, n), (x) => Number(x));
    case 'I32': return Float32Array.from(new Int32Array(b, o, n));
    case 'U32': return Float32Array.from(new Uint32Array(b, o, n));
    case 'I16': return Float32Array.from(new Int16Array(b, o, n));
    case 'U16': return Float32Array.from(new Uint16Array(b, o, n));
    case 'I8': return Float32Array.from(new Int8Array(b, o, n));
    case 'U8': case 'BOOL': return Float32Array.from(new Uint8Array(b, o, n));
    default:
      throw new GraftError('UNSUPPORTED', `${file}: tensor ${name} has dtype ${dtype}, which cannot be read as float32`, { file, where: name });
  }
}

/**
 * A tensor to write. `data` as raw bytes (Uint8Array/Buffer) is written verbatim — that is how an adapter
 * round-trips byte-identical. A Float32Array is encoded to `dtype` (F32, F16 or BF16); other typed arrays
 * must match the dtype (Int32Array for I32, BigInt64Array for I64, Float64Array for F64).
 */
export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array | Float32Array | Float64Array | Int32Array | BigInt64Array;
}

function tensorBytes(name: string, t: TensorToWrite): Uint8Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const want = count * SAFETENSORS_DTYPE_BYTES[t.dtype];
  let bytes: Uint8Array;
  const d = t.data;
  if (d instanceof Uint8Array) bytes = d;
  else if (d instanceof Float32Array && t.dtype === 'F16') bytes = encodeF16(d);
  else if (d instanceof Float32Array && t.dtype === 'BF16') bytes = encodeBf16(d);
  else {
    const ok = (d instanceof Float32Array && t.dtype === 'F32') || (d instanceof Float64Array && t.dtype === 'F64') ||
      (d instanceof Int32Array && t.dtype === 'I32') || (d instanceof BigInt64Array && t.dtype === 'I64');
    if (!ok) throw new GraftError('BAD_INPUT', `tensor ${name}: ${d.constructor.name} data cannot be written as ${t.dtype}`, { where: name });
    bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  if (bytes.byteLength !== want) {
    throw new GraftError('BAD_INPUT', `tensor ${name}: ${bytes.byteLength} bytes given, ${t.dtype}${JSON.stringify(t.shape)} needs ${want}`, { where: name });
  }
  return bytes;
}

/** The whole file as chunks: 8-byte header length, JSON header (space-padded to 8 bytes), tensor data in given order. */
export function encodeSafetensors(tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array[] {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new GraftError('BAD_INPUT', 'a tensor cannot be named __metadata__', { where: name });
    const bytes = tensorBytes(name, t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    datas.push(bytes);
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.byteLength));
  return [len, json, ...datas];
}

/** Write a safetensors file atomically (temp file + fsync + rename). */
export async function writeSafetensors(path: string, tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Promise<void> {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata));
}
