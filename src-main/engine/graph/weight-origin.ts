/**
 * Where a weight array's bytes come from, when that is known without reading them: the model files'
 * stamp (path, size, time), the tensor's name and the layout or encoding applied (e.g. "fp16", "wT").
 * The graph cache names such a weight's file by its origin instead of hashing gigabytes of content,
 * and may start writing the file while the rest of the graph is still being built (onWeight).
 * Arrays with no origin (merged or quantized weights, anything computed) are named by content hash.
 */
import type { DType, TypedData } from './ir.js';

const origins = new WeakMap<object, string>();

/**
 * Records the array's origin and hands the array back; called where a weight enters a graph (an array
 * shared by several graphs of one model is announced to each build).
 */
export function withOrigin<T extends TypedData>(data: T, origin: string | null, dtype: DType): T {
  if (origin === null) return data;
  origins.set(data, origin);
  listener?.(data, dtype, origin);
  return data;
}

export function originOf(data: object): string | undefined {
  return origins.get(data);
}

type Listener = (data: TypedData, dtype: DType, origin: string) => void;
let listener: Listener | null = null;

/**
 * Runs `build` (synchronous) with `seen` called for every weight given an origin meanwhile: the graph
 * cache starts each weight's file write then, so the disk works while the build goes on.
 */
export function onWeight<T>(seen: Listener, build: () => T): T {
  const before = listener;
  listener = seen;
  try {
    return build();
  } finally {
    listener = before;
  }
}
