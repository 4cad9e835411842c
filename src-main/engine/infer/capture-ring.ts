/**
 * The buffers of a captured decode's ring (decode-capture.ts): per slot k, the ids fed in (slot k−1's output, or
 * the chain's first tokens), the position and GroupQueryAttention's seqlens_k, each bound by slot k's capture; and
 * the buffers that keep a chain's earlier rounds' ids until its one read. Made at their first use, kept while the
 * capture is.
 */
import type { DeviceInfo } from '../runtime/device.js';
import { type DeviceTensor, hostTensor } from '../runtime/tensors.js';
import { toDeviceAll } from '../runtime/transfer.js';

/** Chains run from captures in this process (tests check that capture was used, not fallen back from). */
export const captureStats = { chains: 0, steps: 0, topSteps: 0, sampledChains: 0, rounds: 0, slots: 0 };

/**
 * Captures in the ring, one per slot: a chain longer than this runs them in rounds. Each capture holds its own
 * intermediate buffers (ORT keeps what a recorded command reads or writes), most of them the LM head's partial sums
 * and logits: on lavapipe, 25 more captures of a 2-layer 0.5B-wide model with 4 rows took 584 MB more (session 23,
 * bench/capture-memory.ts), so a chain of 32 in 32 captures would hold ~0.6 GB more at 0.5B, more with depth. Even,
 * so that the device sampler's marks (two buffers taken in turn) end a round where the next begins.
 */
export const CHAIN_SLOTS = 8;

export class CaptureRing {
  first!: DeviceTensor;
  readonly ids: DeviceTensor[] = [];
  readonly positions: DeviceTensor[] = [];
  readonly seqlens: DeviceTensor[] = [];
  private kept: DeviceTensor[] = [];

  constructor(
    private readonly rows: number,
    private readonly device: DeviceInfo,
  ) {}

  /** Slots up to n, the missing ones made in one transfer. */
  async grow(n: number): Promise<void> {
    if (!this.first) this.first = (await this.make(1))[0];
    const more = n - this.ids.length;
    if (more <= 0) return;
    const B = this.rows;
    const zeros = (shape: number[]) => hostTensor('int32', shape, new Int32Array(B));
    const made = (await toDeviceAll(Array.from({ length: more }, () => [zeros([B, 1]), zeros([B, 1]), zeros([B])]).flat(), this.device)) as DeviceTensor[];
    for (let k = 0; k < more; k++) {
      this.ids.push(made[3 * k]);
      this.positions.push(made[3 * k + 1]);
      this.seqlens.push(made[3 * k + 2]);
    }
  }

  /** Buffers from..from+count−1 that keep a chain's earlier rounds' ids on the device. */
  async aside(from: number, count: number): Promise<DeviceTensor[]> {
    if (this.kept.length < from + count) this.kept.push(...(await this.make(from + count - this.kept.length)));
    return this.kept.slice(from, from + count);
  }

  private async make(n: number): Promise<DeviceTensor[]> {
    const B = this.rows;
    return (await toDeviceAll(Array.from({ length: n }, () => hostTensor('int32', [B, 1], new Int32Array(B))), this.device)) as DeviceTensor[];
  }

  dispose(): void {
    for (const t of [...this.ids, ...this.positions, ...this.seqlens, ...this.kept, ...(this.first ? [this.first] : [])]) t.dispose();
  }
}
