/** Messages between the EngineClient (main thread) and the engine worker thread. */
import type { DeviceInfo, DevicePreference, Result } from '../../ipc/contract';
import type { AdapterChatEngineMethods } from './adapter-chat-methods';
import type { WorkshopEngineMethods } from './workshop-methods';

/** What the worker can do: method -> params and result. Later issues add training and generation here. */
export interface EngineMethods extends AdapterChatEngineMethods, WorkshopEngineMethods {
  device: { params: DevicePreference; result: DeviceInfo };
}

export type EngineMethod = keyof EngineMethods;

export type ToWorker = { type: 'call'; id: number; method: string; params: unknown };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reply'; id: number; result: Result<unknown> }
  /** A stream event from a running job, forwarded to the EventHub under the contract's stream name. */
  | { type: 'event'; stream: string; event: unknown };
