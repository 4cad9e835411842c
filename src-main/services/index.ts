import type { AppInfo } from '../ipc/contract';
import { EngineClient } from './engine/client';
import { EventHub } from './events';

/**
 * The jobs the app, the browser host and the CLI share. Electron main and `graft serve` each create one set
 * and put the same handler table (src-main/ipc/handlers.ts) in front of it.
 */
export interface Services {
  app: Omit<AppInfo, 'shell'>;
  events: EventHub;
  engine: EngineClient;
  dispose(): Promise<void>;
}

export function createServices(app: Omit<AppInfo, 'shell'>): Services {
  const events = new EventHub();
  const engine = new EngineClient(events);
  return {
    app,
    events,
    engine,
    dispose: () => engine.stop(),
  };
}
