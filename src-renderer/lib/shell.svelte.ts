/** Which shell the page runs in (Electron or the browser host), and its native file dialog where it has one. */
import type { PickPathRequest } from '../../src-main/ipc/app';
import { api } from './api';

class ShellState {
  shell = $state<'electron' | 'browser' | null>(null);
  async load(): Promise<void> {
    if (this.shell) return;
    const r = await api.invoke('app.info');
    if (r.ok) this.shell = r.value.shell;
  }
  get canPick(): boolean {
    return this.shell === 'electron';
  }
  async pick(req: PickPathRequest): Promise<string | null> {
    return api.call('app.pickPath', req);
  }
}

export const shell = new ShellState();
