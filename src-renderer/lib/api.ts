/**
 * The renderer's typed client of the IPC contract. Views call `api.call(...)` (throws ApiError on a failed
 * request) or `api.invoke(...)` (returns the Result), and `api.subscribe(...)` for streams.
 */
import type {
  Channel,
  EventOf,
  GraftBridge,
  GraftErrorData,
  InvokeArgs,
  ResponseOf,
  Result,
  StreamName,
} from '../../src-main/ipc/contract';
import { createWsBridge, takeToken } from './ws-bridge';

export class ApiError extends Error {
  readonly code: GraftErrorData['code'];
  readonly file?: string;
  readonly where?: string;
  /** The job option at fault (a schema key): the form highlights it and words it by its label. */
  readonly field?: string;

  constructor(channel: string, data: GraftErrorData) {
    super(data.message);
    this.name = `ApiError(${channel})`;
    this.code = data.code;
    this.file = data.file;
    this.where = data.where;
    this.field = data.field;
  }
}

let bridge: GraftBridge | undefined;

/** The preload's bridge inside Electron; the WebSocket bridge in a browser served by `graft serve`. */
export function getBridge(): GraftBridge {
  bridge ??= window.graft ?? createWsBridge(takeToken());
  return bridge;
}

export const api = {
  invoke<C extends Channel>(channel: C, ...args: InvokeArgs<C>): Promise<Result<ResponseOf<C>>> {
    return getBridge().invoke(channel, ...args);
  },
  async call<C extends Channel>(channel: C, ...args: InvokeArgs<C>): Promise<ResponseOf<C>> {
    const r = await getBridge().invoke(channel, ...args);
    if (!r.ok) throw new ApiError(channel, r.error);
    return r.value;
  },
  subscribe<S extends StreamName>(stream: S, listener: (event: EventOf<S>) => void): () => void {
    return getBridge().subscribe(stream, listener);
  },
};
