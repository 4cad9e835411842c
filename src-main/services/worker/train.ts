/**
 * The engine worker's methods for the Train screen. Training runs here, on the worker thread: a training job lives
 * as long as the worker, not as long as the page, so closing the window does not stop it and a reopened page
 * reattaches. Memory estimates and job bundles (the same run written for another machine) come from here too.
 */
import { freemem } from 'node:os';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../../engine/data/types.js';
import { GraftError, toErrorData } from '../../engine/errors.js';
import { openModelSource } from '../../engine/io/model-source.js';
import type { EstimateOptions } from '../../engine/options/train.js';
import { describeDevice } from '../../engine/runtime/device.js';
import { methodPreview } from '../../engine/train/method-preview.js';
import { exportJobBundle } from '../../engine/job/export-bundle.js';
import type { JobExportResult, MemoryCheck, TrainJob, TrainSettings } from '../../ipc/train';
import { JobRunner, trainOptionsFromParams, userNames, type Emit } from './train-job.js';

export interface TrainStartParams {
  settings: TrainSettings;
  modelPath: string;
  modelName: string;
  datasetPath: string;
  datasetName: string;
  datasetFormat: DatasetFormat | 'auto';
  textSplit: TextSplit;
  columns?: ColumnMapping;
  /** Folder the run writes its adapter and checkpoints to. */
  out: string;
  /** Adapter library the finished adapter is imported into. */
  library: string;
}

export interface JobExportParams extends Omit<TrainStartParams, 'library'> {
  includeModel?: boolean;
  /** The base's Hub id when it was downloaded from the Hub, for a cluster that loads it from there. */
  hubId?: string;
}

export type EstimateParams = { modelPath: string } & EstimateOptions;

/** Merged into the worker protocol's WorkerMethods. */
export interface TrainWorkerMethods {
  'train.estimate': { params: EstimateParams; result: MemoryCheck };
  'train.start': { params: TrainStartParams; result: TrainJob };
  'train.current': { params: null; result: TrainJob | null };
  'train.continue': { params: null; result: TrainJob };
  'train.control': { params: { action: 'pause' | 'resume' | 'cancel' }; result: null };
  'job.export': { params: JobExportParams; result: JobExportResult };
}

type Methods = { [M in keyof TrainWorkerMethods]: (p: TrainWorkerMethods[M]['params']) => Promise<TrainWorkerMethods[M]['result']> };

export function trainMethods(emit: Emit): Methods {
  const jobs = new JobRunner(emit);
  return {
    'train.estimate': async (p) => {
      const [s, device] = await Promise.all([openModelSource(p.modelPath), describeDevice(p.device)]);
      try {
        const { modelPath: _m, ...options } = p;
        return { ...methodPreview(s, options, device.kind === 'webgpu'), available: freemem(), device };
      } finally {
        s.close();
      }
    },
    'train.start': async (p) => jobs.start(p),
    'train.current': async () => jobs.current(),
    'train.continue': async () => jobs.continue_(),
    'train.control': async ({ action }) => {
      jobs.steer(action);
      return null;
    },
    'job.export': async (p) => {
      const warnings: string[] = [];
      try {
        const m = await exportJobBundle(trainOptionsFromParams({ ...p, library: '' }), p.out, {
          name: p.settings.name,
          datasetName: p.datasetName,
          includeModel: p.includeModel,
          hubId: p.hubId,
          onWarning: (w) => warnings.push(w.replaceAll(p.datasetPath, p.datasetName).replace('run `graft dataset inspect` for all', 'the Datasets screen lists them all')),
        });
        return { out: p.out, id: m.id, trainRows: m.dataset.trainRows, valRows: m.dataset.valRows, totalSteps: m.settings.train.total_steps, notes: m.notes, warnings };
      } catch (err) {
        const e = userNames(toErrorData(err), { ...p, library: '' });
        throw new GraftError(e.code, e.message, { file: e.file, where: e.where });
      }
    },
  };
}
