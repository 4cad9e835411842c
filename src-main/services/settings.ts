/**
 * The app's preferences (settings.json in the user data folder) and the native file dialog, where the shell has
 * one. Creating it also sweeps the temp files of writes killed mid-way from the data folder.
 */
import { GraftError } from '../engine/errors';
import { sweepDeadTemps } from '../engine/io/atomic';
import { DEVICE_PREFS } from '../engine/runtime/device-pref';
import { THEME_CHOICES, type AppFolders, type AppSettings, type PickPathRequest, type SettingsUpdate } from '../ipc/app';
import { defaultLibraryDir } from '../store/paths';
import { JsonStore } from './json-store';

export class SettingsService {
  readonly store: JsonStore<AppSettings>;
  /** The temp files the start-up sweep removed (for tests and logs). */
  readonly swept: Promise<string[]>;

  constructor(
    private readonly dir: string,
    private readonly pickPathFn?: (req: PickPathRequest) => Promise<string | null>,
  ) {
    this.store = JsonStore.in(dir, 'settings.json', () => ({ hfEndpoint: null, lastTrain: null, theme: 'system', defaultDevice: 'auto', cpuThreads: null }));
    // Temp files of runs and writes killed mid-way (up to tens of MB each) go at the next start.
    this.swept = sweepDeadTemps(dir).catch(() => []);
  }

  get(): AppSettings {
    return this.store.get();
  }

  folders(): AppFolders {
    return { library: defaultLibraryDir(), data: this.dir };
  }

  update(req: SettingsUpdate): AppSettings {
    const { theme, defaultDevice, cpuThreads } = req ?? {};
    if (theme !== undefined && !THEME_CHOICES.includes(theme)) throw new GraftError('BAD_INPUT', `theme must be one of ${THEME_CHOICES.join(', ')}`, { where: 'theme' });
    if (defaultDevice !== undefined && !DEVICE_PREFS.includes(defaultDevice)) throw new GraftError('BAD_INPUT', `the default device must be one of ${DEVICE_PREFS.join(', ')}`, { where: 'defaultDevice' });
    if (cpuThreads !== undefined && cpuThreads !== null && !(Number.isInteger(cpuThreads) && cpuThreads >= 1 && cpuThreads <= 1024)) {
      throw new GraftError('BAD_INPUT', `CPU threads must be a whole number from 1 to 1024 (or automatic), got ${JSON.stringify(cpuThreads)}`, { where: 'cpuThreads' });
    }
    let ep = req?.hfEndpoint;
    if (typeof ep === 'string') {
      ep = ep.trim().replace(/\/+$/, '') || null;
      if (ep && !/^https?:\/\/[^/\s]+/.test(ep)) throw new GraftError('BAD_INPUT', `"${ep}" is not an http(s) address`, { where: 'hfEndpoint' });
    }
    return this.store.update((s) => {
      if (ep !== undefined) s.hfEndpoint = ep;
      if (theme !== undefined) s.theme = theme;
      if (defaultDevice !== undefined) s.defaultDevice = defaultDevice;
      if (cpuThreads !== undefined) s.cpuThreads = cpuThreads;
    });
  }

  pickPath(req: PickPathRequest): Promise<string | null> {
    if (!this.pickPathFn) throw new GraftError('UNSUPPORTED', 'this window has no file dialog: type the path instead');
    return this.pickPathFn(req);
  }
}
