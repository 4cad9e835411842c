/**
 * A decoder's hold on its model's captured decode session (decode-capture.ts): one decoder at a time owns its
 * buffers; another one meanwhile runs without capture. Where capture cannot open in this process, no decoder
 * tries again.
 */
import type { LoadedModel } from '../model.js';
import { CapturedGraph } from '../runtime/captured-graph.js';
import type { DeviceInfo } from '../runtime/device.js';
import { FallbackOnce } from '../runtime/fallback-once.js';
import type { GraphRef } from '../runtime/graph-cache.js';
import type { CreateTiming } from '../runtime/session.js';
import { DecodeCapture } from './decode-capture.js';
import { leaseSession } from './session-pool.js';

/** Capture, once it could not be opened in this process: no decoder tries again. */
const capturing = new FallbackOnce('graph capture unavailable, decoding without it');

/**
 * The model's captured session for a graph (pool key `key`; `saved` hands the graph's saved files to the opener), held by
 * `owner` until done(). Null when capture cannot be opened here or another decoder holds it: the caller then
 * runs as before.
 */
export async function leaseCapture(
  model: LoadedModel,
  o: { device: DeviceInfo; rows: number; capacity: number; cacheDtype: 'float32' | 'float16' },
  key: string,
  saved: (open: (ref: GraphRef, timing: CreateTiming, oneToken?: { ref: GraphRef; timing: CreateTiming }) => Promise<DecodeCapture>) => Promise<DecodeCapture>,
  owner: object,
): Promise<{ capture: DecodeCapture; done(): void } | null> {
  if (capturing.failed) return null;
  try {
    CapturedGraph.check(o.device);
  } catch (err) {
    return capturing.fail(err);
  }
  const lease = leaseSession(model, key, () => saved((ref, timing, oneToken) => DecodeCapture.open(ref, timing, model, o.device, o.rows, o.capacity, o.cacheDtype, oneToken)));
  let capture: DecodeCapture;
  try {
    capture = await lease.session;
  } catch (err) {
    lease.done();
    return capturing.fail(err);
  }
  if (capture.owner) {
    lease.done();
    return null;
  }
  capture.owner = owner;
  return {
    capture,
    done: () => {
      capture.owner = null;
      lease.done();
    },
  };
}
