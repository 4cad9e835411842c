/**
 * The engine's thread: everything that calls onnxruntime-node runs here, so a long session run never blocks
 * the Electron main loop or the browser host's HTTP server.
 */
import { parentPort } from 'node:worker_threads';
import { GraftError, toErrorData } from '../../engine/errors';
import { describeDevice } from '../../engine/runtime/device';
import type { WorkerMethod, WorkerMethods, FromWorker, ToWorker } from './protocol';
import { adapterMethods } from './adapters';
import { chatMethods } from './chat';
import { datasetMethods } from './datasets';
import { modelMethods } from './models';
import { trainMethods } from './train';

type MethodTable = { [M in WorkerMethod]: (params: WorkerMethods[M]['params']) => Promise<WorkerMethods[M]['result']> };

const methods: MethodTable = {
  device: (pref) => describeDevice(pref),
  ...modelMethods(),
  ...datasetMethods(),
  ...trainMethods((stream, event) => send({ type: 'event', stream, event })),
  ...adapterMethods(),
  ...chatMethods((stream, event) => send({ type: 'event', stream, event })),
};

const port = parentPort;
if (!port) throw new Error('src-main/services/worker/worker.ts must run as a worker thread');

function send(msg: FromWorker): void {
  port!.postMessage(msg);
}

port.on('message', async (msg: ToWorker) => {
  if (msg?.type !== 'call') return;
  try {
    if (!Object.hasOwn(methods, msg.method)) {
      throw new GraftError('NOT_FOUND', `The engine has no method "${msg.method}"`);
    }
    const fn = methods[msg.method as WorkerMethod] as (p: unknown) => Promise<unknown>;
    send({ type: 'reply', id: msg.id, result: { ok: true, value: await fn(msg.params) } });
  } catch (err) {
    send({ type: 'reply', id: msg.id, result: { ok: false, error: toErrorData(err) } });
  }
});

send({ type: 'ready' });
