/**
 * The app's preferences (settings.json in the user data folder) and the native file dialog, where the shell has
 * one. Creating it also sweeps the temp files of writes killed mid-way from the data folder.
 */
import { GraftError } from '../engine/errors';
import { sweepDeadTemps } from '../engine/io/atomic';
import type { AppSettings, PickPathRequest } from '../ipc/app';
import { JsonStore } from './json-store';

export class SettingsService {
  readonly store: JsonStore<AppSettings>;
  /** The temp files the start-up sweep removed (for tests and logs). */
  readonly swept: Promise<string[]>;

  constructor(
    dir: string,
    private readonly pickPathFn?: (req: PickPathRequest) => Promise<string | null>,
  ) {
    this.store = JsonStore.in(dir, 'settings.json', () => ({ hfEndpoint: null, lastTrain: null }));
    // Temp files of runs and writes killed mid-way (up to tens of MB each) go at the next start.
    this.swept = sweepDeadTemps(dir).catch(() => []);
  }

  get(): AppSettings {
    return this.store.get();
  }

  update(req: { hfEndpoint?: string | null }): AppSettings {
    let ep = req?.hfEndpoint;
    if (typeof ep === 'string') {
      ep = ep.trim().replace(/\/+$/, '') || null;
      if (ep && !/^https?:\/\/[^/\s]+/.test(ep)) throw new GraftError('BAD_INPUT', `"${ep}" is not an http(s) address`, { where: 'hfEndpoint' });
    }
    return this.store.update((s) => {
      if (ep !== undefined) s.hfEndpoint = ep;
    });
  }

  pickPath(req: PickPathRequest): Promise<string | null> {
    if (!this.pickPathFn) throw new GraftError('UNSUPPORTED', 'this window has no file dialog: type the path instead');
    return this.pickPathFn(req);
  }
}
