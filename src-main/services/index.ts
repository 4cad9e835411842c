import type { AppInfo } from '../ipc/contract';
import { AdapterService } from './adapters';
import { ConversationStore } from './conversations';
import { EngineClient } from './engine/client';
import { EventHub } from './events';
import { WorkshopService, type WorkshopOptions } from './workshop/index';

/**
 * The jobs the app, the browser host and the CLI share. Electron main and `graft serve` each create one set
 * and put the same handler table (src-main/ipc/handlers.ts) in front of it.
 */
export interface Services {
  app: Omit<AppInfo, 'shell'>;
  events: EventHub;
  engine: EngineClient;
  adapters: AdapterService;
  conversations: ConversationStore;
  /** Models, datasets and training. */
  workshop: WorkshopService;
  dispose(): Promise<void>;
}

export interface ServiceOptions {
  /** Path of the bundled engine worker in a built app; from source, the TypeScript worker is used. */
  engineWorker?: string;
  /** Stores folder, bundled resources and the native file dialog of the Models/Datasets/Train screens. */
  workshop?: WorkshopOptions;
}

export function createServices(app: Omit<AppInfo, 'shell'>, opts: ServiceOptions = {}): Services {
  const events = new EventHub();
  const engine = new EngineClient(events, opts.engineWorker);
  return {
    app,
    events,
    engine,
    adapters: new AdapterService(engine),
    conversations: new ConversationStore(),
    workshop: new WorkshopService(engine, events, opts.workshop),
    dispose: () => engine.stop(),
  };
}
