/**
 * A decoder's per-row adapter inputs (from rowLoraFeeds): uploaded once per graph kind and reused by every step.
 * While the decoder holds a captured session, the fused graph's rows live in the capture's own buffers (its
 * recorded commands read them): new rows are written into those, and they are the capture's to free.
 */
import type { RowLoraLayout } from '../adapters/row-lora.js';
import type { ModelSpec } from '../models/spec.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { Feed, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll } from '../runtime/transfer.js';
import type { DecodeCapture } from './decode-capture.js';
import type { Mode } from './decode-sessions.js';
import { fusedLoraFeeds } from './fused/fused-lora.js';
import { fusedStreamWidth, gpuForms } from './fused/gpu-forms.js';

export class DecoderLora {
  private host: Record<string, HostTensor> | null = null;
  private feeds = new Map<Mode, Promise<Record<string, Feed>>>();

  constructor(
    private readonly spec: ModelSpec,
    private readonly layout: RowLoraLayout | null,
    private readonly device: DeviceInfo,
    /** The capture the decoder holds now, if any. */
    private readonly capture: () => DecodeCapture | null,
    /** Whether the fused graph's base is packed (4-bit): its residual stream is then not padded. */
    private readonly packed: () => boolean,
    /** Whether the fused graph runs in fp16 (its rows' Aᵀ and Bᵀ then too). */
    private readonly half: () => boolean,
  ) {}

  /** New rows: the old uploads go; a held capture's buffers take the fused form at once. */
  async set(feeds: Record<string, HostTensor>): Promise<void> {
    await this.dispose();
    this.host = feeds;
    this.intoCapture();
  }

  /** The decoder has just taken a capture: the fused graph's rows go into the capture's buffers. */
  intoCapture(): void {
    const c = this.capture();
    if (!c) return;
    const { host, layout } = this;
    this.feeds.set('fused', host && layout ? c.loraFeeds(this.fused(layout, host)) : Promise.resolve({}));
  }

  /** The graph kind's inputs, uploaded at first use. */
  for(mode: Mode): Promise<Record<string, Feed>> {
    let f = this.feeds.get(mode);
    if (!f) {
      const { host, layout } = this;
      f = (async () => {
        if (!host || !layout) return {};
        const feeds = mode === 'fused' ? this.fused(layout, host) : host;
        const names = Object.keys(feeds);
        const dev = await toDeviceAll(
          names.map((n) => feeds[n]),
          this.device,
        );
        return Object.fromEntries(names.map((n, i) => [n, dev[i]]));
      })();
      this.feeds.set(mode, f);
    }
    return f;
  }

  /** The fused graph's form of the rows, sliced as its graph was built for this device (gpu-forms.ts). */
  private fused(layout: RowLoraLayout, host: Record<string, HostTensor>): Record<string, HostTensor> {
    const forms = gpuForms(this.device);
    return fusedLoraFeeds(this.spec, layout, host, { ...forms, streamWidth: fusedStreamWidth(this.spec.hidden, forms.padStream, this.packed()), half: this.half() });
  }

  /** Frees the uploads (not a held capture's buffers). */
  async dispose(): Promise<void> {
    const held = this.capture() !== null;
    for (const [mode, f] of this.feeds) if (!(held && mode === 'fused')) for (const t of Object.values(await f)) if ('dispose' in t) t.dispose();
    this.feeds.clear();
  }
}
