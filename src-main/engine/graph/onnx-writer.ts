/**
 * Serializes the IR to an ONNX ModelProto with protobufjs' wire writer. Field numbers are those of
 * onnx.proto (ONNX IR version 10). Large initializers go to external data files next to the model,
 * so models over protobuf's 2 GB limit load, and so weights are shared between graphs.
 */
import protobuf from 'protobufjs/minimal.js';
import { createHash } from 'node:crypto';
import type { Attr, DType, Graph, TensorData, Value } from './ir.js';
import { DTYPE_BYTES, numel } from './ir.js';
import { originOf } from './weight-origin.js';

const { Writer } = protobuf;
type W = protobuf.Writer;

export const IR_VERSION = 10;
export const OPSET = 21;
export const MS_OPSET = 1;

const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

const LEN = 2;
const VARINT = 0;
const I32 = 5;
const tag = (field: number, wire: number) => (field << 3) | wire;

function bytesOf(t: TensorData): Uint8Array {
  const expected = numel(t.shape) * DTYPE_BYTES[t.dtype];
  const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (b.byteLength !== expected) {
    throw new Error(`tensor bytes ${b.byteLength} do not match ${t.dtype}[${t.shape.join(',')}] (${expected})`);
  }
  return b;
}

function writeString(w: W, field: number, s: string): void {
  w.uint32(tag(field, LEN)).string(s);
}

function writeMessage(w: W, field: number, body: (w: W) => void): void {
  w.uint32(tag(field, LEN)).fork();
  body(w);
  w.ldelim();
}

interface External {
  location: string;
  offset: number;
  length: number;
}

function writeTensor(w: W, name: string, t: TensorData, ext?: External): void {
  for (const d of t.shape) w.uint32(tag(1, VARINT)).int64(d);
  w.uint32(tag(2, VARINT)).int32(ONNX_DTYPE[t.dtype]);
  writeString(w, 8, name);
  if (ext) {
    const entries: [string, string][] = [
      ['location', ext.location],
      ['offset', String(ext.offset)],
      ['length', String(ext.length)],
    ];
    for (const [k, v] of entries) {
      writeMessage(w, 13, (e) => {
        writeString(e, 1, k);
        writeString(e, 2, v);
      });
    }
    w.uint32(tag(14, VARINT)).int32(1);
  } else {
    w.uint32(tag(9, LEN)).bytes(bytesOf(t));
  }
}

function writeValueInfo(w: W, field: number, v: Value, symbolic?: Map<number, string>): void {
  writeMessage(w, field, (vi) => {
    writeString(vi, 1, v.name);
    writeMessage(vi, 2, (tp) => {
      writeMessage(tp, 1, (tt) => {
        tt.uint32(tag(1, VARINT)).int32(ONNX_DTYPE[v.dtype]);
        writeMessage(tt, 2, (shape) => {
          v.shape.forEach((d, axis) => {
            const param = symbolic?.get(axis);
            // TensorShapeProto.Dimension: dim_value = 1, dim_param = 2
            writeMessage(shape, 1, (dim) => (param ? writeString(dim, 2, param) : dim.uint32(tag(1, VARINT)).int64(d)));
          });
        });
      });
    });
  });
}

function writeAttr(w: W, name: string, a: Attr): void {
  writeMessage(w, 5, (aw) => {
    writeString(aw, 1, name);
    if ('f' in a) {
      aw.uint32(tag(2, I32)).float(a.f);
      aw.uint32(tag(20, VARINT)).int32(1);
    } else if ('i' in a) {
      aw.uint32(tag(3, VARINT)).int64(a.i);
      aw.uint32(tag(20, VARINT)).int32(2);
    } else if ('s' in a) {
      aw.uint32(tag(4, LEN)).bytes(Buffer.from(a.s, 'utf8'));
      aw.uint32(tag(20, VARINT)).int32(3);
    } else if ('t' in a) {
      writeMessage(aw, 5, (tw) => writeTensor(tw, name, a.t));
      aw.uint32(tag(20, VARINT)).int32(4);
    } else if ('floats' in a) {
      for (const f of a.floats) aw.uint32(tag(7, I32)).float(f);
      aw.uint32(tag(20, VARINT)).int32(6);
    } else {
      for (const i of a.ints) aw.uint32(tag(8, VARINT)).int64(i);
      aw.uint32(tag(20, VARINT)).int32(7);
    }
  });
}

export interface ExternalFile {
  /** File name relative to the model file, derived from the content hash or from the weight's origin. */
  name: string;
  bytes: Uint8Array;
  /** Named by origin (weight-origin.ts), not by content: a file of this name holds these bytes if it is whole. */
  byOrigin: boolean;
  /** The initializer it holds. */
  tensor: { name: string; dtype: TensorData['dtype']; shape: readonly number[] };
}

export interface SerializedModel {
  /** The ModelProto bytes. */
  model: Uint8Array;
  /** One file per large initializer, named by its content: the same tensor in any graph is one file. */
  external: ExternalFile[];
}

// Hashing a weight once per array object: graphs of one model share the arrays read from its file.
const hashes = new WeakMap<object, string>();

function contentName(t: TensorData, b: Uint8Array): string {
  let h = hashes.get(t.data);
  if (!h) {
    h = createHash('sha256').update(b).digest('hex').slice(0, 32);
    hashes.set(t.data, h);
  }
  return `t-${t.dtype}-${h}.bin`;
}

/** The file of a weight named by its origin; `salt` names the code that made it (the graph cache's code stamp). */
export function originFileName(salt: string, dtype: string, origin: string): string {
  return `o-${dtype}-${createHash('sha256').update(`${salt}|${dtype}|${origin}`).digest('hex').slice(0, 32)}.bin`;
}

/**
 * Initializers of at least `g.externalThreshold` bytes go to external files named by content hash:
 * ORT resolves them from the model's directory, so the model must be loaded by path, and a weight
 * used by many graphs (train step, prefill, every decode bucket) is stored on disk once. Given a
 * `salt`, a weight whose origin is known is named by it instead (no pass over its bytes).
 */
export function serializeModel(g: Graph, opts: { salt?: string } = {}): SerializedModel {
  const external: ExternalFile[] = [];
  const placed = new Map<Value, External>();
  for (const [v, t] of g.initializers) {
    const b = bytesOf(t);
    if (b.byteLength < g.externalThreshold) continue;
    const origin = opts.salt === undefined ? undefined : originOf(t.data);
    const name = origin === undefined ? contentName(t, b) : originFileName(opts.salt!, t.dtype, origin);
    external.push({ name, bytes: b, byOrigin: origin !== undefined, tensor: { name: v.name, dtype: t.dtype, shape: t.shape } });
    placed.set(v, { location: name, offset: 0, length: b.byteLength });
  }

  const w = Writer.create();
  w.uint32(tag(1, VARINT)).int64(IR_VERSION);
  writeString(w, 2, 'graft');
  writeMessage(w, 8, (o) => {
    writeString(o, 1, '');
    o.uint32(tag(2, VARINT)).int64(OPSET);
  });
  writeMessage(w, 8, (o) => {
    writeString(o, 1, 'com.microsoft');
    o.uint32(tag(2, VARINT)).int64(MS_OPSET);
  });
  writeMessage(w, 7, (gw) => {
    g.nodes.forEach((n, k) => {
      writeMessage(gw, 1, (nw) => {
        for (const i of n.inputs) writeString(nw, 1, i ? i.name : '');
        for (const o of n.outputs) writeString(nw, 2, o.name);
        writeString(nw, 3, `${n.op}_${k}`);
        writeString(nw, 4, n.op);
        for (const [name, a] of Object.entries(n.attrs)) writeAttr(nw, name, a);
        if (n.domain) writeString(nw, 7, n.domain);
      });
    });
    writeString(gw, 2, g.name);
    for (const [v, t] of g.initializers) writeMessage(gw, 5, (tw) => writeTensor(tw, v.name, t, placed.get(v)));
    for (const v of g.inputs) writeValueInfo(gw, 11, v, g.symbolicDims.get(v.name));
    for (const v of g.outputs) writeValueInfo(gw, 12, v, g.symbolicDims.get(v.name));
  });
  return { model: w.finish(), external };
}
