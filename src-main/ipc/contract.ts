/**
 * The one IPC contract between the renderer and the main side (Electron main or the browser host).
 * Types only: both sides import it, nothing here runs.
 *
 * To add a request: add `'group.verb': { req: ...; res: ... }` to its domain's channels (e.g. TrainChannels in
 * ipc/train.ts), then the compiler points at the handler table (src-main/ipc/handlers/) until a handler exists.
 * To add an event stream: add `'group.noun': Payload` to its domain's streams and emit it through the services'
 * EventHub.
 */
import type { GraftErrorData } from '../engine/errors';
import type { DeviceInfo } from '../engine/runtime/device';
import type { AdaptersChannels } from './adapters';
import type { AppChannels, AppInfo, AppStreams } from './app';
import type { ChatChannels, ChatStreams } from './chat';
import type { DatasetsChannels } from './datasets';
import type { ModelsChannels, ModelsStreams } from './models';
import type { TrainChannels, TrainStreams } from './train';

export type { DeviceInfo, GraftErrorData };
export type { AppInfo, DevicePreference, EngineStatus } from './app';

/**
 * Every request the renderer can make: channel -> request payload and success value. Each domain declares its
 * channels in its own file (ipc/app.ts, models.ts, datasets.ts, train.ts, adapters.ts, chat.ts).
 */
export interface Requests extends AppChannels, ModelsChannels, DatasetsChannels, TrainChannels, AdaptersChannels, ChatChannels {}

/** Every event stream the renderer can subscribe to: stream -> event payload. */
export interface Streams extends AppStreams, ModelsStreams, TrainStreams, ChatStreams {}

export type Channel = keyof Requests;
export type RequestOf<C extends Channel> = Requests[C]['req'];
export type ResponseOf<C extends Channel> = Requests[C]['res'];
export type StreamName = keyof Streams;
export type EventOf<S extends StreamName> = Streams[S];

/** What every request resolves to: errors are values, never thrown across the boundary. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: GraftErrorData };

/** Arguments of invoke: requests whose payload is void take none. */
export type InvokeArgs<C extends Channel> = RequestOf<C> extends void ? [] : [req: RequestOf<C>];

/** `window.graft`: the only surface the preload (or the browser host's client) exposes. */
export interface GraftBridge {
  invoke<C extends Channel>(channel: C, ...args: InvokeArgs<C>): Promise<Result<ResponseOf<C>>>;
  /** Returns the function that ends this subscription. */
  subscribe<S extends StreamName>(stream: S, listener: (event: EventOf<S>) => void): () => void;
}

/** Who is asking; handlers that care (none yet) can tell the desktop app from the browser host. */
export interface HandlerContext {
  shell: AppInfo['shell'];
}

export type Handler<C extends Channel> = (req: RequestOf<C>, ctx: HandlerContext) => Promise<ResponseOf<C>> | ResponseOf<C>;

/** One handler per channel, no more, no fewer. */
export type HandlerTable = { [C in Channel]: Handler<C> };
