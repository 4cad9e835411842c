/**
 * Quantized bases on disk, so a second load skips quantization. One file per (base content hash,
 * scheme): "GRAFTQ1\n", a u32 header length, a JSON header (tensor names, shapes, byte ranges and the
 * sha256 of the payload) and the payload. A file that is truncated, altered, or for another base or
 * scheme is reported through `onRebuild` and replaced (atomic write), never trusted.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import type { WeightSource } from '../io/model-source.js';
import type { LoadedModel } from '../model.js';
import type { DeviceInfo } from '../runtime/device.js';
import { modelContentHash } from '../io/content-hash.js';
import { fileStamp } from '../io/source-stamp.js';
import { quantizeModelGptq, type GptqProgress } from './gptq-source.js';
import { int4SymmetricRange, quantizeInt4 } from './int4.js';
import { quantizeInt8 } from './int8.js';
import { tensorSchemeOf } from './kinds.js';
import { quantizeNf4 } from './nf4.js';
import {
  EMBEDDING_TABLES,
  QUANTIZED_LINEAR,
  type EmbeddingPrecision,
  type QuantMethod,
  type QuantScheme,
  type QuantStore,
  type QuantTensor,
} from './quant-weights.js';

const MAGIC = Buffer.from('GRAFTQ1\n');
const FORMAT_VERSION = 1;

export function quantCacheDir(): string {
  return process.env.GRAFT_QUANT_CACHE ?? path.join(os.homedir(), '.cache', 'graft', 'quant');
}

interface Part {
  key: string;
  offset: number;
  length: number;
}
interface Entry {
  name: string;
  /** The tensor's own format when it differs from the file's (8-bit embedding tables). */
  scheme?: QuantTensor['scheme'];
  shape: [number, number];
  absmaxOffset?: number;
  parts: Part[];
}
interface Header {
  version: number;
  scheme: QuantScheme;
  embeddings?: EmbeddingPrecision;
  /** Absent in files written before GPTQ existed: round to nearest. */
  method?: QuantMethod;
  baseHash: string;
  payloadSha256: string;
  payloadBytes: number;
  tensors: Entry[];
}

type PartKey = 'codes' | 'absmaxCodes' | 'absmaxScale' | 'b' | 'scalesF16' | 'zeroPoints';
const PARTS: Record<QuantTensor['scheme'], PartKey[]> = {
  nf4: ['codes', 'absmaxCodes', 'absmaxScale'],
  int4: ['b', 'scalesF16', 'zeroPoints'],
  int8: ['b', 'scalesF16', 'zeroPoints'],
};
const ARRAY: Record<PartKey, (b: ArrayBuffer) => Uint8Array | Uint16Array | Float32Array> = {
  codes: (b) => new Uint8Array(b),
  absmaxCodes: (b) => new Uint8Array(b),
  b: (b) => new Uint8Array(b),
  zeroPoints: (b) => new Uint8Array(b),
  scalesF16: (b) => new Uint16Array(b),
  absmaxScale: (b) => new Float32Array(b),
};

export function quantizeTensor(scheme: QuantScheme, w: Float32Array, shape: [number, number]): QuantTensor {
  return scheme === 'nf4' ? quantizeNf4(w, shape) : quantizeInt4(w, shape, scheme === 'int4s' ? int4SymmetricRange : undefined);
}

/**
 * Quantizes every projection of the base (reading each fp32 tensor once, without caching it), and
 * with `embeddings: 'int8'` the embedding and LM head tables to 8 bits.
 */
export function quantizeSource(
  source: WeightSource,
  scheme: QuantScheme,
  embeddings: EmbeddingPrecision = 'fp16',
): Map<string, QuantTensor> {
  const store = new Map<string, QuantTensor>();
  if (embeddings === 'int8') {
    for (const name of EMBEDDING_TABLES)
      if (source.has(name)) store.set(name, quantizeInt8(source.readF32(name), source.shape(name) as [number, number]));
  }
  for (const name of source
    .names()
    .filter((n) => QUANTIZED_LINEAR.test(n))
    .sort()) {
    const shape = source.shape(name);
    if (shape.length !== 2) continue;
    store.set(name, quantizeTensor(scheme, source.readF32(name), shape as [number, number]));
  }
  return store;
}

function serialize(
  store: QuantStore,
  scheme: QuantScheme,
  embeddings: EmbeddingPrecision,
  method: QuantMethod,
  baseHash: string,
): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  const tensors: Entry[] = [];
  for (const [name, t] of store) {
    const parts: Part[] = [];
    for (const key of PARTS[t.scheme]) {
      const arr = (t as unknown as Record<PartKey, Uint8Array | Uint16Array | Float32Array>)[key];
      const pad = (8 - (offset % 8)) % 8;
      if (pad) chunks.push(Buffer.alloc(pad));
      offset += pad;
      chunks.push(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
      parts.push({ key, offset, length: arr.byteLength });
      offset += arr.byteLength;
    }
    tensors.push({
      name,
      shape: t.shape,
      parts,
      ...(t.scheme === 'nf4' ? { absmaxOffset: t.absmaxOffset } : {}),
      ...(t.scheme !== scheme ? { scheme: t.scheme } : {}),
    });
  }
  const sha = createHash('sha256');
  for (const c of chunks) sha.update(c);
  const header: Header = {
    version: FORMAT_VERSION,
    scheme,
    embeddings,
    ...(method === 'rtn' ? {} : { method }),
    baseHash,
    payloadSha256: sha.digest('hex'),
    payloadBytes: offset,
    tensors,
  };
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return [MAGIC, len, json, ...chunks];
}

function readExact(fd: number, length: number, position: number, file: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new Error(`${file}: truncated (ends inside the payload)`);
    done += n;
  }
  return out;
}

/**
 * Parses and checks a cache file; throws with the reason when it cannot be trusted. Parts are read one
 * by one into their own buffers (a 7B base's cache is near Node's 4 GiB Buffer limit), hashing as it goes.
 */
export function readQuantCache(
  file: string,
  scheme: QuantScheme,
  baseHash: string,
  embeddings: EmbeddingPrecision = 'fp16',
  method: QuantMethod = 'rtn',
): Map<string, QuantTensor> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 12) throw new Error(`${file}: not a Graft quantized-weights file`);
    const head = Buffer.from(readExact(fd, 12, 0, file));
    if (!head.subarray(0, 8).equals(MAGIC)) throw new Error(`${file}: not a Graft quantized-weights file`);
    const hlen = head.readUInt32LE(8);
    if (12 + hlen > size) throw new Error(`${file}: truncated header`);
    let header: Header;
    try {
      header = JSON.parse(Buffer.from(readExact(fd, hlen, 12, file)).toString('utf8')) as Header;
    } catch {
      throw new Error(`${file}: header is not valid JSON`);
    }
    if (
      header.version !== FORMAT_VERSION ||
      header.scheme !== scheme ||
      (header.embeddings ?? 'fp16') !== embeddings ||
      (header.method ?? 'rtn') !== method ||
      header.baseHash !== baseHash
    )
      throw new Error(`${file}: written for another base, scheme, method or format`);
    const base = 12 + hlen;
    if (size - base !== header.payloadBytes)
      throw new Error(`${file}: payload is ${size - base} bytes, header says ${header.payloadBytes}`);
    const sha = createHash('sha256');
    let at = 0;
    const store = new Map<string, QuantTensor>();
    for (const e of header.tensors) {
      const parts: Record<string, unknown> = {};
      const ts = e.scheme ?? tensorSchemeOf(scheme);
      if (e.parts.map((p) => p.key).join() !== PARTS[ts]?.join())
        throw new Error(`${file}: ${e.name} does not have the parts of a ${ts} tensor`);
      for (const p of e.parts) {
        if (p.offset < at || p.offset + p.length > header.payloadBytes)
          throw new Error(`${file}: ${e.name}.${p.key} lies outside the payload`);
        if (p.offset > at) sha.update(readExact(fd, p.offset - at, base + at, file));
        const bytes = readExact(fd, p.length, base + p.offset, file);
        sha.update(bytes);
        at = p.offset + p.length;
        parts[p.key] = ARRAY[p.key as PartKey](bytes.buffer as ArrayBuffer);
      }
      store.set(
        e.name,
        (ts === 'nf4'
          ? { scheme: ts, shape: e.shape, absmaxOffset: e.absmaxOffset, ...parts }
          : { scheme: ts, shape: e.shape, ...parts }) as QuantTensor,
      );
    }
    if (at !== header.payloadBytes) sha.update(readExact(fd, header.payloadBytes - at, base + at, file));
    if (sha.digest('hex') !== header.payloadSha256) throw new Error(`${file}: payload checksum mismatch`);
    return store;
  } finally {
    closeSync(fd);
  }
}

export interface LoadQuantOpts {
  /** Cache folder (default $GRAFT_QUANT_CACHE or ~/.cache/graft/quant); null disables the cache. */
  cacheDir?: string | null;
  /** The base's content hash if already known (it costs a full read of the model file). */
  baseHash?: string;
  /** Embeddings and LM head in 8 bits instead of fp16 precision. */
  embeddings?: EmbeddingPrecision;
  /** Round to nearest (default) or GPTQ, which needs `calibrate`. */
  method?: QuantMethod;
  /** What GPTQ calibrates with: the model itself (sampled text) on this device. */
  calibrate?: { model: LoadedModel; device: DeviceInfo; signal?: AbortSignal; onProgress?: (p: GptqProgress) => void };
  onRebuild?: (reason: string) => void;
}

export interface LoadedQuantBase {
  store: QuantStore;
  fromCache: boolean;
  file: string | null;
  /** What names the store's content (quantStoreId), for keying graphs over it; null without a cache file. */
  storeId: string | null;
}

/**
 * The identity of a store read from (or written to) its cache file: the file's path (base content hash, scheme,
 * method, tables), size and time, so a store quantized again (another calibration) is another id.
 */
export function quantStoreId(file: string | null): string | null {
  if (!file) return null;
  try {
    return fileStamp(file);
  } catch {
    return null;
  }
}

/** Cache-file suffix per method; GPTQ's carries its calibration recipe version, so a new recipe re-quantizes. */
const METHOD_SUFFIX: Record<QuantMethod, string> = { rtn: '', gptq: '-gptq1' };

export async function loadQuantizedBase(source: WeightSource, scheme: QuantScheme, o: LoadQuantOpts = {}): Promise<LoadedQuantBase> {
  const dir = o.cacheDir === undefined ? quantCacheDir() : o.cacheDir;
  const emb = o.embeddings ?? 'fp16';
  const method = o.method ?? 'rtn';
  const build = async (): Promise<Map<string, QuantTensor>> => {
    if (method === 'rtn') return quantizeSource(source, scheme, emb);
    if (!o.calibrate) throw new Error('GPTQ quantization needs the model and device to calibrate with');
    const { model, ...rest } = o.calibrate;
    return quantizeModelGptq(model, scheme, emb, rest);
  };
  if (dir === null) return { store: await build(), fromCache: false, file: null, storeId: null };
  const baseHash = o.baseHash ?? (await modelContentHash(source.path));
  const file = path.join(dir, `${baseHash.slice(0, 32)}-${scheme}${METHOD_SUFFIX[method]}${emb === 'int8' ? '-e8' : ''}.gq`);
  if (existsSync(file)) {
    try {
      const store = readQuantCache(file, scheme, baseHash, emb, method);
      for (const [name, t] of store) {
        const s = source.shape(name);
        if (s[0] !== t.shape[0] || s[1] !== t.shape[1]) throw new Error(`${file}: ${name} is [${t.shape}], the base has [${s}]`);
      }
      return { store, fromCache: true, file, storeId: quantStoreId(file) };
    } catch (err) {
      o.onRebuild?.((err as Error).message);
    }
  }
  const store = await build();
  try {
    writeFileAtomicSync(file, serialize(store, scheme, emb, method, baseHash));
  } catch (err) {
    // A cache that cannot be written (read-only home, full disk) costs time on the next load, not this run.
    o.onRebuild?.(`${file}: could not be written (${(err as Error).message}); quantizing again next time`);
    return { store, fromCache: false, file: null, storeId: null };
  }
  return { store, fromCache: false, file, storeId: quantStoreId(file) };
}
