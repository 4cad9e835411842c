/**
 * Device tensors of [rows, 1] token ids for a greedy chain run op by op (kv-decoder.ts, decodeGreedyChain): each
 * step writes its ids into the next slot and reads the previous one, so nothing comes back to the host until the
 * chain ends, and then in one read. Allocated once per decoder, grown to the longest chain asked for.
 */
import type { DeviceInfo } from '../runtime/device.js';
import type { Feed, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll } from '../runtime/transfer.js';

export class IdRing {
  private slots: Feed[] = [];

  constructor(
    private readonly rows: number,
    private readonly device: DeviceInfo,
  ) {}

  /** At least n slots. */
  async take(n: number): Promise<Feed[]> {
    if (this.slots.length < n) {
      const more = Array.from({ length: n - this.slots.length }, (): HostTensor => ({ dtype: 'int32', shape: [this.rows, 1], data: new Int32Array(this.rows) }));
      this.slots.push(...(await toDeviceAll(more, this.device)));
    }
    return this.slots;
  }

  /** The first n slots' ids, in one read of the whole ring (one read-back session whatever n). */
  async read(n: number): Promise<Int32Array[]> {
    return (await toHostAll(this.slots, this.device)).slice(0, n).map((h) => Int32Array.from(h.data as Int32Array));
  }

  dispose(): void {
    for (const t of this.slots) if ('dispose' in t) t.dispose();
    this.slots = [];
  }
}
