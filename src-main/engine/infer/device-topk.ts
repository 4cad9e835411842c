/**
 * Each row's K best logits and their token ids, found on the device, so a sampled decode step reads back K pairs
 * instead of the vocabulary's logits (600 KB a row at 151,936 words) and the host samples among K candidates
 * (Sampler.sampleAmong; exactly what sampling over the whole row gives, or a request for the whole row).
 *
 * The WebGPU EP's TopK sorts a row of up to 2,048 in one dispatch (a bitonic sort in workgroup memory) and a
 * longer one in global memory, one dispatch per stage: 171 of them for 262,144. So the row is cut into chunks of
 * 2,048, each chunk's K best taken in one dispatch, and again over the survivors until one chunk is left: the K
 * best of a row are among the K best of the chunks that hold them. Ids travel as float32 (exact below 2²⁴): the
 * EP casts no int64, so TopK's int64 indices only ever index (Gather, GatherElements).
 */
import { Graph, type Value } from '../graph/ir.js';
import type { DeviceInfo } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { Feed, HostTensor } from '../runtime/tensors.js';
import { node } from './fused/nodes.js';

/** What one TopK dispatch sorts in workgroup memory. */
const CHUNK = 2048;
const LOWEST = -3.4028234663852886e38;

export interface TopLogits {
  /** [rows, k]: best first; ties to the lower id, as ONNX's TopK and the host's sampler order them. */
  logits: Float32Array;
  ids: Int32Array;
  k: number;
}

/** The graph from logits [B, V] to top_logits [B, K] and top_ids [B, K] (float32 ids). */
export function buildTopKGraph(B: number, V: number, K: number): Graph {
  const g = new Graph('device_topk');
  const top = topKNodes(g, g.input('logits', 'float32', [B, V]), K);
  g.outputRenamed(top.vals, 'top_logits');
  g.outputRenamed(top.ids, 'top_ids');
  return g;
}

/**
 * Nodes taking each row's K best of `logits` [B, V]: their values [B, K] (best first, ties to the lower id) and
 * their ids as float32 [B, K], in chunks of CHUNK (above). Also the device sampler's first stage (device-sampler.ts).
 */
export function topKNodes(g: Graph, logits: Value, K: number): { vals: Value; ids: Value } {
  if (K < 1 || K > CHUNK / 2) throw new Error(`device top-k: k must be 1..${CHUNK / 2} (got ${K})`);
  const B = logits.shape[0];
  let vals = logits;
  let ids: Value | null = null; // [B, n] float ids of vals' columns; null: the column is the id
  const k = (n: number) => g.init(`topk_k_${n}`, { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(n)) });
  for (let stage = 0; ; stage++) {
    const n = vals.shape[1];
    const take = Math.min(K, n);
    if (n <= CHUNK) {
      const [v, at] = node(g, 'TopK', [vals, k(take)], [{ dtype: 'float32', shape: [B, take] }, { dtype: 'int64', shape: [B, take] }], { axis: { i: 1 } });
      const out = ids ? node(g, 'GatherElements', [ids, at], [{ dtype: 'float32', shape: [B, take] }], { axis: { i: 1 } })[0] : columnIds(g, at, n);
      return { vals: v, ids: out };
    }
    // pad the row to whole chunks with the lowest float (never among the K best of a row of more than K)
    const chunks = Math.ceil(n / CHUNK);
    const pad = chunks * CHUNK - n;
    if (pad) {
      const fill = (name: string) => g.init(`${name}_${stage}`, { dtype: 'float32', shape: [B, pad], data: new Float32Array(B * pad).fill(LOWEST) });
      vals = node(g, 'Concat', [vals, fill('topk_pad')], [{ dtype: 'float32', shape: [B, n + pad] }], { axis: { i: 1 } })[0];
      if (ids) ids = node(g, 'Concat', [ids, fill('topk_pad_ids')], [{ dtype: 'float32', shape: [B, n + pad] }], { axis: { i: 1 } })[0];
    }
    const shape = g.init(`topk_chunks_${stage}`, { dtype: 'int64', shape: [3], data: BigInt64Array.of(BigInt(B), BigInt(chunks), BigInt(CHUNK)) });
    const cut = (x: Value) => node(g, 'Reshape', [x, shape], [{ dtype: 'float32', shape: [B, chunks, CHUNK] }])[0];
    const [v, at] = node(g, 'TopK', [cut(vals), k(take)], [{ dtype: 'float32', shape: [B, chunks, take] }, { dtype: 'int64', shape: [B, chunks, take] }], { axis: { i: 2 } });
    // the survivors' ids: their columns in this stage's row, then what those columns held
    const cols = chunkColumns(g, at, chunks, take, stage);
    const flat = g.init(`topk_flat_${stage}`, { dtype: 'int64', shape: [2], data: BigInt64Array.of(BigInt(B), BigInt(chunks * take)) });
    const row = (x: Value) => node(g, 'Reshape', [x, flat], [{ dtype: 'float32', shape: [B, chunks * take] }])[0];
    const colIds = row(cols);
    if (ids) {
      const colAt = node(g, 'Cast', [colIds], [{ dtype: 'int32', shape: [B, chunks * take] }], { to: { i: 6 } })[0];
      ids = node(g, 'GatherElements', [ids, colAt], [{ dtype: 'float32', shape: [B, chunks * take] }], { axis: { i: 1 } })[0];
    } else ids = colIds;
    vals = row(v);
  }
}

const iotas = new WeakMap<Graph, Map<number, Value>>();

/** A TopK's int64 indices within rows of `n` as float ids (a Gather of 0..n−1, one table per length). */
function columnIds(g: Graph, at: Value, n: number): Value {
  const made = iotas.get(g) ?? new Map<number, Value>();
  iotas.set(g, made);
  let iota = made.get(n);
  if (!iota) {
    iota = g.init(`topk_iota_${n}`, { dtype: 'float32', shape: [n], data: Float32Array.from({ length: n }, (_, i) => i) });
    made.set(n, iota);
  }
  return node(g, 'Gather', [iota, at], [{ dtype: 'float32', shape: at.shape }], { axis: { i: 0 } })[0];
}

/** Indices [B, chunks, take] within each chunk as columns of the whole row: c·CHUNK + index. */
function chunkColumns(g: Graph, at: Value, chunks: number, take: number, stage: number): Value {
  const within = columnIds(g, at, CHUNK);
  const offsets = g.init(`topk_offsets_${stage}`, { dtype: 'float32', shape: [1, chunks, 1], data: Float32Array.from({ length: chunks }, (_, c) => c * CHUNK) });
  return node(g, 'Add', [within, offsets], [{ dtype: 'float32', shape: at.shape }])[0];
}

const sessions = new Map<string, Promise<GraphSession>>();

/** The K best logits of each row of `logits` ([rows, V], on the device where a captured step left them), read back with their ids. */
export async function topLogits(logits: Feed, K: number, device: DeviceInfo): Promise<TopLogits> {
  const [B, V] = logits.shape;
  const k = Math.min(K, V);
  const key = `${B}x${V}k${k}|${device.kind}`;
  let s = sessions.get(key);
  if (!s) {
    s = GraphSession.create(buildTopKGraph(B, V, k), { device, keepOnDevice: [] });
    sessions.set(key, s);
  }
  const out = await (await s).run({ logits });
  const ids = (out.top_ids as HostTensor).data as Float32Array;
  return { logits: Float32Array.from((out.top_logits as HostTensor).data as Float32Array), ids: Int32Array.from(ids), k };
}
