/**
 * A saved graph's external weights on the device, held here and given to ORT sessions as their initializers
 * (ort-capi.ts: AddInitializer over aliasOf, checked in test/engine/runtime/shared-initializer.test.ts): sessions
 * over graphs of the same weights (the captured decode's any-length graph and its one-token step graph) then
 * read one copy. The weights come from the graph's own files (graph-cache.ts GraphRef.weights), read in parts of
 * at most PART_BYTES so a large model never sits whole in host memory.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DTYPE_BYTES, type DType, numel, type TypedData } from '../graph/ir.js';
import type { DeviceInfo } from './device.js';
import type { GraphRef } from './graph-cache.js';
import { OrtCApi, type Ptr } from './ort-capi.js';
import type { DeviceTensor, HostTensor } from './tensors.js';
import { toDeviceAll } from './transfer.js';

const PART_BYTES = 512 * 1024 * 1024;

const ARRAYS: Partial<Record<DType, new (b: ArrayBuffer, offset: number, length: number) => TypedData>> = {
  float32: Float32Array,
  float16: Uint16Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

export class SharedWeights {
  private released = false;

  private constructor(
    private readonly tensors: DeviceTensor[],
    private readonly aliases: Map<string, Ptr>,
  ) {}

  /** The weights `ref` lists, read from beside its model file and put on the device. */
  static async load(ref: GraphRef, device: DeviceInfo): Promise<SharedWeights> {
    const api = OrtCApi.get();
    const dir = path.dirname(ref.model);
    const tensors: DeviceTensor[] = [];
    const aliases = new Map<string, Ptr>();
    const done = new SharedWeights(tensors, aliases);
    try {
      let part: { name: string; host: HostTensor }[] = [];
      let bytes = 0;
      const flush = async () => {
        const dev = (await toDeviceAll(part.map((p) => p.host), device)) as DeviceTensor[];
        dev.forEach((t, k) => {
          tensors.push(t);
          const { name, host } = part[k];
          aliases.set(name, api.aliasOf(api.ortValueOf((t.ort as unknown as { gpuBuffer: unknown }).gpuBuffer, host.dtype, host.data.length), host.dtype, host.shape));
        });
        part = [];
        bytes = 0;
      };
      for (const w of ref.weights) {
        const Array_ = ARRAYS[w.dtype];
        if (!Array_) throw new Error(`shared weights: ${w.name} is ${w.dtype}, which is not read here`);
        const file = readFileSync(path.join(dir, w.file));
        const count = numel(w.shape);
        if (file.byteLength !== count * DTYPE_BYTES[w.dtype]) throw new Error(`shared weights: ${w.file} holds ${file.byteLength} bytes, ${w.name} needs ${count * DTYPE_BYTES[w.dtype]}`);
        // a view needs its type's alignment; a file read whole starts its own buffer, but copy where it does not
        const aligned = file.byteOffset % 8 === 0 ? file : Buffer.from(file);
        part.push({ name: w.name, host: { dtype: w.dtype, shape: w.shape, data: new Array_(aligned.buffer as ArrayBuffer, aligned.byteOffset, count) } });
        bytes += file.byteLength;
        if (bytes >= PART_BYTES) await flush();
      }
      if (part.length) await flush();
      return done;
    } catch (err) {
      done.release();
      throw err;
    }
  }

  /** The initializers of `ref` found here, by name, for ort-capi's webgpuSession. */
  initializersOf(ref: GraphRef): Record<string, Ptr> {
    const out: Record<string, Ptr> = {};
    for (const w of ref.weights) {
      const a = this.aliases.get(w.name);
      if (!a) throw new Error(`shared weights: ${ref.name}'s ${w.name} is not among them`);
      out[w.name] = a;
    }
    return out;
  }

  /** Frees the buffers; every session given them must be released first. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const api = OrtCApi.get();
    for (const a of this.aliases.values()) api.release('ReleaseValue', a);
    for (const t of this.tensors) t.dispose();
  }
}
