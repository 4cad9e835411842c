/**
 * The one training job of the engine worker: runs trainAdapter with pause/resume/cancel, keeps the event history
 * (what a reattaching page draws from), streams every change as 'train.update', and imports the finished adapter.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GraftError, toErrorData, type GraftErrorData } from '../../engine/errors.js';
import { TrainControl } from '../../engine/train/control.js';
import { registerTrainingRun } from './priority.js';
import { trainAdapter, type TrainAdapterOptions } from '../../engine/train/train-adapter.js';
import { importChecked } from '../../store/adapter-ops.js';
import { AdapterLibrary } from '../../store/library.js';
import { isActiveJob, splitSettings, type TrainJob, type TrainUpdate } from '../../ipc/train';
import type { TrainStartParams } from './train.js';

export type Emit = (stream: 'train.update', event: TrainUpdate) => void;

/** Datasets are stored under internal names: say the name the user imported instead. */
export function userNames(e: GraftErrorData, p: TrainStartParams): GraftErrorData {
  const fix = (t: string) => t.replaceAll(p.datasetPath, p.datasetName);
  return { ...e, message: fix(e.message), ...(e.file ? { file: fix(e.file) } : {}) };
}

/**
 * The engine's training options from the Train screen's settings: the one place a setting becomes an option,
 * shared by a local run and a job bundle (`job.export`), so both start from exactly the same values.
 */
export function trainOptionsFromParams(p: TrainStartParams, resume = false): TrainAdapterOptions {
  const { options } = splitSettings(p.settings);
  return {
    model: p.modelPath,
    data: p.datasetPath,
    out: p.out,
    resume: resume ? p.out : undefined,
    read: { format: p.datasetFormat, textSplit: p.textSplit, columns: p.columns },
    options,
  };
}

/** The one training job of this worker (one run at a time: it uses the whole device). */
export class JobRunner {
  private job: TrainJob | null = null;
  private params: TrainStartParams | null = null;
  private control: TrainControl | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly emit: Emit) {}

  current(): TrainJob | null {
    return this.job;
  }

  start(p: TrainStartParams): TrainJob {
    if (this.job && isActiveJob(this.job.state)) {
      throw new GraftError('BAD_INPUT', `a training run is already going on ("${this.job.settings.name}"): pause, cancel or wait for it first`);
    }
    const job: TrainJob = {
      id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      state: 'preparing',
      settings: p.settings,
      modelName: p.modelName,
      datasetName: p.datasetName,
      startedAt: new Date().toISOString(),
      memory: null,
      quantize: null,
      warnings: [],
      adapterId: null,
      device: null,
      error: null,
      events: [],
    };
    this.job = job;
    this.params = p;
    return this.launch(job, p, false);
  }

  /** The stopped run again from its latest checkpoint: same job, same folder, history kept. */
  continue_(): TrainJob {
    const job = this.job;
    const p = this.params;
    if (!job || !p || (job.state !== 'cancelled' && job.state !== 'error')) throw new GraftError('BAD_INPUT', 'no cancelled or failed run to continue');
    if (!existsSync(path.join(p.out, 'checkpoints', 'latest.json'))) {
      throw new GraftError('NOT_FOUND', `"${job.settings.name}" saved no checkpoint to continue from; start a new run`, { file: p.out });
    }
    job.state = 'preparing';
    job.error = null;
    return this.launch(job, p, true);
  }

  private launch(job: TrainJob, p: TrainStartParams, resume: boolean): TrainJob {
    this.control = new TrainControl();
    this.abort = new AbortController();
    this.publish();
    const unregister = registerTrainingRun(this.control);
    void this.run(job, p, this.control, this.abort.signal, resume).finally(unregister);
    return job;
  }

  steer(action: 'pause' | 'resume' | 'cancel'): void {
    const job = this.job;
    if (!job || !['preparing', 'running', 'paused'].includes(job.state)) throw new GraftError('BAD_INPUT', `no training run to ${action}`);
    if (action === 'pause') this.control!.pause();
    else if (action === 'resume') this.control!.resume();
    else this.abort!.abort();
  }

  private publish(event?: TrainJob['events'][number]): void {
    const { events: _events, ...status } = this.job!;
    this.emit('train.update', { job: status, event });
  }

  private async run(job: TrainJob, p: TrainStartParams, control: TrainControl, signal: AbortSignal, resume: boolean): Promise<void> {
    const s = p.settings;
    try {
      const result = await trainAdapter(
        trainOptionsFromParams(p, resume),
        {
          signal,
          control,
          onMemoryEstimate: (estimate, available) => {
            job.memory = { estimate, available };
            this.publish();
          },
          onQuantProgress: (q) => {
            job.quantize = q.phase === 'layers' && q.done === q.total ? null : q;
            this.publish();
          },
          onWarning: (w) => {
            job.warnings.push(w.replaceAll(p.datasetPath, p.datasetName));
            this.publish();
          },
          onEvent: (e) => {
            job.events.push(e);
            if (e.type === 'start' || e.type === 'resumed') job.state = 'running';
            else if (e.type === 'paused') job.state = 'paused';
            this.publish(e);
          },
        },
      );
      job.device = result.device;
      if (result.cancelled) {
        job.state = 'cancelled';
        this.publish();
        return;
      }
      job.state = 'importing';
      this.publish();
      const lib = await AdapterLibrary.open(p.library);
      const entry = await importChecked(lib, p.out, { name: s.name, basePath: p.modelPath, onWarning: (w) => job.warnings.push(w) });
      job.adapterId = entry.meta.id;
      job.state = 'done';
    } catch (err) {
      job.state = signal.aborted ? 'cancelled' : 'error';
      job.error = signal.aborted ? null : userNames(toErrorData(err), p);
    }
    this.publish();
  }
}

