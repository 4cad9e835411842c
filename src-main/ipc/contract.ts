/**
 * The one IPC contract between the renderer and the main side (Electron main or the browser host).
 * Types only: both sides import it, nothing here runs.
 *
 * To add a request: add `'group.verb': { req: ...; res: ... }` to `Requests`, then the compiler points at the
 * handler table (src-main/ipc/handlers.ts) until a handler exists. To add an event stream: add
 * `'group.noun': Payload` to `Streams` and emit it through the services' EventHub.
 */
import type { GraftErrorData } from '../engine/errors';
import type { DeviceInfo, DevicePref } from '../engine/runtime/device';
import type * as AC from './types-adapters-chat';
import type { WorkshopRequests, WorkshopStreams } from './contract-workshop';

export type { DeviceInfo, GraftErrorData };

/** Which device the user asked for; 'auto' lets the engine pick the best available. */
export type DevicePreference = DevicePref;

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' inside the desktop app, 'browser' when served by `graft serve`. */
  shell: 'electron' | 'browser';
  platform: string;
}

/** Lifecycle of the engine worker that runs off the UI's event loop. */
export interface EngineStatus {
  state: 'starting' | 'ready' | 'crashed' | 'stopped';
  /** Why it crashed or stopped, when it did. */
  detail?: string;
}

/** Every request the renderer can make: channel -> request payload and success value. */
/** The Models, Datasets and Train screens' requests are in contract-workshop.ts. */
export interface Requests extends WorkshopRequests {
  'app.info': { req: void; res: AppInfo };
  'engine.status': { req: void; res: EngineStatus };
  'engine.device': { req: { pref: DevicePreference }; res: DeviceInfo };
  // Adapters screen (types in types-adapters-chat.ts)
  'adapters.list': { req: AC.AdapterListReq; res: AC.AdapterListing };
  'adapters.rename': { req: { id: string; name: string }; res: AC.AdapterEntry };
  'adapters.setTags': { req: { id: string; tags: string[] }; res: AC.AdapterEntry };
  'adapters.setNotes': { req: { id: string; notes: string }; res: AC.AdapterEntry };
  'adapters.delete': { req: { id: string }; res: { id: string; name: string; deletedAt: string } };
  /** Without an id: the most recently deleted adapter (undo). */
  'adapters.restore': { req: { id?: string }; res: AC.AdapterEntry };
  'adapters.import': { req: AC.AdapterImportReq; res: AC.AdapterImportRes };
  'adapters.export': { req: AC.AdapterExportReq; res: AC.AdapterExportRes };
  'adapters.blend': { req: AC.AdapterBlendReq; res: AC.AdapterBlendRes };
  // Chat screen: generate resolves when every column is done; tokens arrive on the 'chat.token' stream.
  'chat.generate': { req: AC.ChatGenerateReq; res: AC.ChatGenerateRes };
  'chat.stop': { req: { runId: string }; res: { stopped: boolean } };
  'conversations.list': { req: void; res: AC.ConversationSummary[] };
  'conversations.get': { req: { id: string }; res: AC.Conversation };
  'conversations.save': { req: AC.Conversation; res: AC.ConversationSummary };
  'conversations.delete': { req: { id: string }; res: void };
}

/** Every event stream the renderer can subscribe to: stream -> event payload. */
export interface Streams extends WorkshopStreams {
  'engine.status': EngineStatus;
  'chat.token': AC.ChatTokenEvent;
}

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
