/**
 * A decoder's KV caches, [rows, kv heads, capacity, head dim] per layer: zeros at each prefill, then either
 * updated in place (bound as the fused graph's present outputs) or replaced by each run's present tensors. While
 * the decoder holds a captured session the caches are the capture's (its recorded commands hold them): used,
 * never freed here.
 */
import type { ModelSpec } from '../models/spec.js';
import type { DeviceInfo } from '../runtime/device.js';
import { zeroTensor, type Feed } from '../runtime/tensors.js';
import { toDeviceAll } from '../runtime/transfer.js';
import type { DecodeCapture } from './decode-capture.js';
import { cacheIn, cacheOut } from './decode-graph.js';

export class DecoderCaches {
  /** By input name (past.{i}.k / .v). */
  tensors: Record<string, Feed> = {};

  constructor(
    private readonly spec: ModelSpec,
    private readonly rows: number,
    private readonly capacity: number,
    private readonly device: DeviceInfo,
    /** The capture the decoder holds now, if any. */
    private readonly capture: () => DecodeCapture | null,
  ) {}

  /** Empty caches for a new prompt of a graph whose caches are `dtype`: the held capture's own, or zeros uploaded afresh. */
  async reset(dtype: 'float32' | 'float16'): Promise<void> {
    const c = this.capture();
    if (c) {
      this.tensors = { ...c.caches };
      return;
    }
    const shape = [this.rows, this.spec.kvHeads, this.capacity, this.spec.headDim];
    const zeros = zeroTensor(dtype, shape);
    const names = Array.from({ length: this.spec.layers }, (_, i) => [cacheIn(i, 'k'), cacheIn(i, 'v')]).flat();
    const dev = await toDeviceAll(
      names.map(() => zeros),
      this.device,
    );
    this.dispose();
    this.tensors = Object.fromEntries(names.map((n, i) => [n, dev[i]]));
  }

  /** Each present cache written into the cache fed as past; the ids into `idsInto` when given. */
  boundOutputs(idsInto?: Feed, idsName?: string): Record<string, Feed> {
    const into: Record<string, Feed> = idsInto && idsName ? { [idsName]: idsInto } : {};
    for (let i = 0; i < this.spec.layers; i++) {
      into[cacheOut(i, 'k')] = this.tensors[cacheIn(i, 'k')];
      into[cacheOut(i, 'v')] = this.tensors[cacheIn(i, 'v')];
    }
    return into;
  }

  /** A run's present tensors become the caches (a graph that does not update them in place). */
  keep(out: Record<string, Feed>): void {
    this.dispose();
    for (let i = 0; i < this.spec.layers; i++) {
      this.tensors[cacheIn(i, 'k')] = out[cacheOut(i, 'k')];
      this.tensors[cacheIn(i, 'v')] = out[cacheOut(i, 'v')];
    }
  }

  /** Frees the caches (not a held capture's). */
  dispose(): void {
    if (!this.capture()) for (const t of Object.values(this.tensors)) if ('dispose' in t) t.dispose();
    this.tensors = {};
  }
}
