import type { AppInfo } from '../ipc/contract';
import type { PickPathRequest } from '../ipc/app';
import { AdapterService } from './adapters';
import { ConversationStore } from './conversations';
import { DatasetService } from './datasets/index';
import { EventHub } from './events';
import { dataDir } from './json-store';
import { findDemoModel, ModelService } from './models/index';
import { SettingsService } from './settings';
import { TrainService } from './train/index';
import { WorkerClient } from './worker/client';

/**
 * The jobs the app, the browser host and the CLI share, one service per domain. Electron main and `graft serve`
 * each create one set and put the same handler table (src-main/ipc/handlers/) in front of it.
 */
export interface Services {
  app: Omit<AppInfo, 'shell'>;
  events: EventHub;
  /** The engine's worker thread: everything that runs onnxruntime goes through it. */
  worker: WorkerClient;
  settings: SettingsService;
  models: ModelService;
  datasets: DatasetService;
  train: TrainService;
  adapters: AdapterService;
  conversations: ConversationStore;
  dispose(): Promise<void>;
}

export interface ServiceOptions {
  /** Path of the bundled engine worker in a built app; from source, the TypeScript worker is used. */
  engineWorker?: string;
  /** Folder of the stores, runs and downloads; the user data folder by default. */
  dir?: string;
  /** Where the bundled resources (demo model) are in a packaged app. */
  resourcesDir?: string;
  /** A native file dialog, where the shell has one (Electron). */
  pickPath?: (req: PickPathRequest) => Promise<string | null>;
}

export function createServices(app: Omit<AppInfo, 'shell'>, opts: ServiceOptions = {}): Services {
  const events = new EventHub();
  const worker = new WorkerClient(events, opts.engineWorker);
  const dir = opts.dir ?? dataDir();
  const settings = new SettingsService(dir, opts.pickPath);
  const models = new ModelService(dir, worker, events, findDemoModel(opts.resourcesDir), () => settings.get().hfEndpoint);
  const datasets = new DatasetService(dir, worker, models);
  return {
    app,
    events,
    worker,
    settings,
    models,
    datasets,
    train: new TrainService(worker, models, datasets, settings, dir),
    adapters: new AdapterService(worker),
    conversations: new ConversationStore(),
    dispose: () => worker.stop(),
  };
}
