/**
 * The Train screen's service: the run's model and dataset are looked up on the main side, training runs on the
 * worker (a run lives as long as the worker, not the page).
 */
import path from 'node:path';
import { GraftError } from '../../engine/errors';
import { isActiveJob, parseTrainSettings, type EstimateRequest, type JobExportResult, type MemoryCheck, type TrainJob, type TrainRequest, type TrainSettings } from '../../ipc/train';
import { defaultLibraryDir } from '../../store/paths';
import type { WorkerClient } from '../worker/client';
import type { DatasetService } from '../datasets/index';
import { newId } from '../json-store';
import type { ModelService } from '../models/index';
import { unusableReason, type DatasetEntry } from '../../ipc/datasets';
import type { ModelEntry } from '../../ipc/models';
import type { SettingsService } from '../settings';

/** What the worker needs to run (or bundle) a run besides its folder: the settings, and the files by path and name. */
function runInputs(s: TrainSettings, m: ModelEntry, d: DatasetEntry) {
  return {
    settings: s,
    modelPath: m.path,
    modelName: m.name,
    datasetPath: d.path,
    datasetName: d.name,
    datasetFormat: d.format,
    textSplit: d.textSplit,
    columns: d.columns,
  };
}

export class TrainService {
  constructor(
    private readonly worker: WorkerClient,
    private readonly models: ModelService,
    private readonly datasets: DatasetService,
    private readonly settings: SettingsService,
    /** Where runs write their checkpoints (runs/ inside it). */
    private readonly dir: string,
  ) {}

  /** `req` is validated by the IPC (ipc/train.ts). */
  estimate(req: EstimateRequest): Promise<MemoryCheck> {
    const { modelId, ...options } = req;
    return this.worker.call('train.estimate', { modelPath: this.models.get(modelId).path, ...options });
  }

  /** `s` is validated by the IPC (ipc/train.ts). */
  async start(s: TrainSettings): Promise<TrainJob> {
    const m = this.models.get(s.modelId);
    const d = this.datasets.get(s.datasetId);
    // A dataset whose every row is dropped (unreadable, or nothing trained left at this sequence length) would
    // fail only once the run has loaded the model: refuse it here.
    const { summary } = await this.datasets.inspect({ id: d.id, modelId: m.id, seqLen: s.seqLen, count: 1 });
    const unusable = unusableReason(summary);
    if (unusable) throw new GraftError('BAD_INPUT', unusable, { field: 'datasetId', file: d.name });
    this.settings.store.update((x) => {
      x.lastTrain = s;
    });
    const slug = s.name.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'adapter';
    return this.worker.call('train.start', {
      ...runInputs(s, m, d),
      out: path.join(this.dir, 'runs', `${slug}-${newId()}`),
      library: defaultLibraryDir(),
    });
  }

  /** The same run as start would start, written as a job bundle for accelerate + PEFT on another machine. */
  exportJob(req: { settings: TrainRequest; out: string; includeModel?: boolean }): Promise<JobExportResult> {
    // The settings are checked by the one validator of the Train screen's requests (ipc/train.ts).
    const s = parseTrainSettings(req?.settings);
    const m = this.models.get(s.modelId);
    const d = this.datasets.get(s.datasetId);
    if (typeof req.out !== 'string' || !req.out.trim()) throw new GraftError('BAD_INPUT', 'choose a folder for the job bundle', { field: 'out' });
    return this.worker.call('job.export', {
      ...runInputs(s, m, d),
      out: path.resolve(req.out.trim()),
      includeModel: req.includeModel === true,
      ...(m.repo ? { hubId: m.repo } : {}),
    });
  }

  current(): Promise<TrainJob | null> {
    // Don't start a worker just to learn that nothing runs.
    if (this.worker.status.state !== 'ready') return Promise.resolve(null);
    return this.worker.call('train.current', null);
  }

  continue(): Promise<TrainJob> {
    return this.worker.call('train.continue', null);
  }

  /** Resolves when no training run is going on (at once when none is); polls the worker every few seconds. */
  async whenIdle(pollMs = 3000): Promise<void> {
    for (;;) {
      const job = await this.current().catch(() => null);
      if (!job || !isActiveJob(job.state)) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async control(action: 'pause' | 'resume' | 'cancel'): Promise<void> {
    await this.worker.call('train.control', { action });
  }
}
