import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GraftError } from '../../engine/errors';
import type { EngineStatus } from '../../ipc/contract';
import { isStreamName } from '../../ipc/define';
import type { EventHub } from '../events';
import type { WorkerMethod, WorkerMethods, FromWorker, ToWorker } from './protocol';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * Where the worker's code is: the bundle a built app names (out/main/engine-worker.js), or else the
 * TypeScript source, loaded through tsx (CLI, tests).
 */
function workerSpec(bundled: string | undefined): { file: string; workerData?: unknown } {
  if (bundled) return { file: bundled };
  const dir = path.dirname(fileURLToPath(import.meta.url));
  return {
    file: path.join(dir, 'tsx-worker.mjs'),
    workerData: { graftEntry: pathToFileURL(path.join(dir, 'worker.ts')).href },
  };
}

/**
 * Main-thread handle on the engine worker. Starts it on first use, restarts it after a crash, and turns
 * worker replies back into values or GraftErrors.
 */
export class WorkerClient {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private current: EngineStatus = { state: 'stopped' };

  constructor(
    private readonly events: EventHub,
    private readonly bundledWorker?: string,
  ) {}

  get status(): EngineStatus {
    return this.current;
  }

  async call<M extends WorkerMethod>(method: M, params: WorkerMethods[M]['params']): Promise<WorkerMethods[M]['result']> {
    await this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ type: 'call', id, method, params } satisfies ToWorker);
    });
  }

  start(): Promise<void> {
    if (this.ready) return this.ready;
    const spec = workerSpec(this.bundledWorker);
    const worker = new Worker(spec.file, { workerData: spec.workerData });
    this.worker = worker;
    this.setStatus({ state: 'starting' });
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          this.setStatus({ state: 'ready' });
          resolve();
        } else if (msg.type === 'reply') {
          const p = this.pending.get(msg.id);
          if (!p) return;
          this.pending.delete(msg.id);
          if (msg.result.ok) p.resolve(msg.result.value);
          else {
            const e = msg.result.error;
            p.reject(new GraftError(e.code, e.message, { file: e.file, where: e.where, field: e.field }));
          }
        } else if (msg.type === 'event' && isStreamName(msg.stream)) {
          this.events.emit(msg.stream, msg.event as never);
        }
      });
      worker.on('error', (err) => this.fail(worker, `engine worker failed: ${err.message}`, reject));
      worker.on('exit', (code) => this.fail(worker, `engine worker exited with code ${code}`, reject));
    });
    this.ready.catch(() => undefined); // callers see the rejection; a start nobody awaits must not crash the app
    return this.ready;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.ready = null;
    this.rejectAll('the engine was stopped');
    await worker.terminate();
    this.setStatus({ state: 'stopped' });
  }

  private fail(worker: Worker, detail: string, rejectStart: (e: Error) => void): void {
    if (this.worker !== worker) return; // a stopped or replaced worker
    this.worker = null;
    this.ready = null; // the next call starts a fresh worker
    rejectStart(new GraftError('INTERNAL', detail));
    this.rejectAll(detail);
    this.setStatus({ state: 'crashed', detail });
  }

  private rejectAll(detail: string): void {
    for (const p of this.pending.values()) p.reject(new GraftError('INTERNAL', detail));
    this.pending.clear();
  }

  private setStatus(status: EngineStatus): void {
    this.current = status;
    this.events.emit('engine.status', status);
  }
}
