/**
 * The Models, Datasets and Train screens' service: stores on the main side, engine work on the worker.
 */
import path from 'node:path';
import { GraftError } from '../../engine/errors';
import type { AppSettings, DatasetReport, MemoryCheck, JobExportResult, PickPathRequest, TrainJob } from '../../ipc/contract-workshop';
import { isActiveJob, parseTrainSettings, type EstimateRequest, type TrainRequest, type TrainSettings } from '../../ipc/train';
import { defaultLibraryDir } from '../../store/paths';
import { sweepDeadTemps } from '../../engine/io/atomic';
import type { EngineClient } from '../engine/client';
import type { EventHub } from '../events';
import { DatasetService } from './datasets';
import { dataDir, JsonStore, newId } from './json-store';
import { findDemoModel, ModelService } from './models';

export interface WorkshopOptions {
  /** Folder of stores and downloads; the user data folder by default. */
  dir?: string;
  /** Where the bundled resources (demo model) are in a packaged app. */
  resourcesDir?: string;
  /** A native file dialog, where the shell has one (Electron). */
  pickPath?: (req: PickPathRequest) => Promise<string | null>;
}

export class WorkshopService {
  readonly dir: string;
  readonly models: ModelService;
  readonly datasets: DatasetService;
  readonly settings: JsonStore<AppSettings>;

  constructor(
    private readonly engine: EngineClient,
    events: EventHub,
    private readonly opts: WorkshopOptions = {},
  ) {
    this.dir = opts.dir ?? dataDir();
    this.settings = JsonStore.in(this.dir, 'settings.json', () => ({ hfEndpoint: null, lastTrain: null }));
    this.models = new ModelService(this.dir, engine, events, findDemoModel(opts.resourcesDir), () => this.settings.get().hfEndpoint);
    this.datasets = new DatasetService(this.dir);
    // Temp files of runs and writes killed mid-way (up to tens of MB each) go at the next start.
    this.swept = sweepDeadTemps(this.dir).catch(() => []);
  }

  /** The temp files the start-up sweep removed (for tests and logs). */
  readonly swept: Promise<string[]>;

  updateSettings(req: { hfEndpoint?: string | null }): AppSettings {
    let ep = req?.hfEndpoint;
    if (typeof ep === 'string') {
      ep = ep.trim().replace(/\/+$/, '') || null;
      if (ep && !/^https?:\/\/[^/\s]+/.test(ep)) throw new GraftError('BAD_INPUT', `"${ep}" is not an http(s) address`, { where: 'hfEndpoint' });
    }
    return this.settings.update((s) => {
      if (ep !== undefined) s.hfEndpoint = ep;
    });
  }

  pickPath(req: PickPathRequest): Promise<string | null> {
    if (!this.opts.pickPath) throw new GraftError('UNSUPPORTED', 'this window has no file dialog: type the path instead');
    return this.opts.pickPath(req);
  }

  async inspectDataset(req: { id: string; modelId?: string; seqLen?: number; count?: number }): Promise<DatasetReport> {
    const d = this.datasets.get(req?.id);
    const model = req.modelId ? this.models.get(req.modelId) : undefined;
    const r = await this.engine
      .call('datasets.inspect', {
        path: d.path,
        format: d.format,
        textSplit: d.textSplit,
        columns: d.columns,
        modelPath: model?.path,
        seqLen: req.seqLen,
        count: Math.min(Math.max(1, req.count ?? 5), 50),
      })
      .catch((err: unknown) => {
        // The file is stored under an internal name: say the name the user knows.
        if (!(err instanceof GraftError)) throw err;
        throw new GraftError(err.code, err.message.replaceAll(d.path, d.name), { file: d.name, where: err.where, field: err.field });
      });
    // Stored under an internal name: show the name the user gave.
    return { ...r, summary: { ...r.summary, file: d.name }, modelId: model?.id ?? null };
  }

  /** `req` is validated by the IPC (ipc/train.ts). */
  estimate(req: EstimateRequest): Promise<MemoryCheck> {
    const m = this.models.get(req.modelId);
    return this.engine.call('train.estimate', { modelPath: m.path, method: req.method, rank: req.rank, targets: req.targets, batch: req.batch, seqLen: req.seqLen, device: req.device });
  }

  /** `s` is validated by the IPC (ipc/train.ts). */
  startTraining(s: TrainSettings): Promise<TrainJob> {
    const m = this.models.get(s.modelId);
    const d = this.datasets.get(s.datasetId);
    this.settings.update((x) => {
      x.lastTrain = s;
    });
    const slug = s.name.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'adapter';
    return this.engine.call('train.start', {
      settings: s,
      modelPath: m.path,
      modelName: m.name,
      datasetPath: d.path,
      datasetName: d.name,
      datasetFormat: d.format,
      textSplit: d.textSplit,
      columns: d.columns,
      out: path.join(this.dir, 'runs', `${slug}-${newId()}`),
      library: defaultLibraryDir(),
    });
  }

  /** The same run as startTraining would start, written as a job bundle for accelerate + PEFT on another machine. */
  exportJob(req: { settings: TrainRequest; out: string; includeModel?: boolean }): Promise<JobExportResult> {
    // The settings are checked by the one validator of the Train screen's requests (ipc/train.ts).
    const s = parseTrainSettings(req?.settings);
    const m = this.models.get(s.modelId);
    const d = this.datasets.get(s.datasetId);
    if (typeof req.out !== 'string' || !req.out.trim()) throw new GraftError('BAD_INPUT', 'choose a folder for the job bundle', { field: 'out' });
    return this.engine.call('job.export', {
      settings: s,
      modelPath: m.path,
      modelName: m.name,
      datasetPath: d.path,
      datasetName: d.name,
      datasetFormat: d.format,
      textSplit: d.textSplit,
      columns: d.columns,
      out: path.resolve(req.out.trim()),
      includeModel: req.includeModel === true,
      ...(m.repo ? { hubId: m.repo } : {}),
    });
  }

  current(): Promise<TrainJob | null> {
    // Don't start a worker just to learn that nothing runs.
    if (this.engine.status.state !== 'ready') return Promise.resolve(null);
    return this.engine.call('train.current', null);
  }

  continueTraining(): Promise<TrainJob> {
    return this.engine.call('train.continue', null);
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
    await this.engine.call('train.control', { action });
  }
}
