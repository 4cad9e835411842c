import type { DeviceInfo, EngineStatus } from '../../src-main/ipc/contract';
import { api, ApiError } from './api';

/** What the status bar shows about the engine: its device, fetched over IPC, and its worker's state. */
class EngineState {
  device = $state<DeviceInfo | null>(null);
  status = $state<EngineStatus | null>(null);
  error = $state<string | null>(null);
  version = $state<string | null>(null);
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    api.subscribe('engine.status', (s) => {
      this.status = s;
    });
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      const [info, status] = await Promise.all([api.call('app.info'), api.call('engine.status')]);
      this.version = info.version;
      this.status ??= status;
      this.device = await api.call('engine.device', { pref: 'auto' });
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  }
}

export const engine = new EngineState();
