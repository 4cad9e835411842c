/** Messages between the WorkerClient (main thread) and the engine worker thread. */
import type { DeviceInfo, DevicePreference, Result } from '../../ipc/contract';
import type { AdapterWorkerMethods } from './adapters';
import type { ChatWorkerMethods } from './chat';
import type { DatasetWorkerMethods } from './datasets';
import type { ModelWorkerMethods } from './models';
import type { TrainWorkerMethods } from './train';

/** What the worker can do: method -> params and result, one part per domain. */
export interface WorkerMethods extends ModelWorkerMethods, DatasetWorkerMethods, TrainWorkerMethods, AdapterWorkerMethods, ChatWorkerMethods {
  device: { params: DevicePreference; result: DeviceInfo };
}

export type WorkerMethod = keyof WorkerMethods;

export type ToWorker = { type: 'call'; id: number; method: string; params: unknown };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reply'; id: number; result: Result<unknown> }
  /** A stream event from a running job, forwarded to the EventHub under the contract's stream name. */
  | { type: 'event'; stream: string; event: unknown };
