import { GraftError } from '../../engine/errors';
import { DEVICE_PREFS } from '../../engine/runtime/device-pref';
import type { Services } from '../../services/index';
import type { AppChannels } from '../app';
import type { Handler } from '../contract';

/** Handlers of the app's own channels: what it is, its worker's state and device, settings, the file dialog. */
export function appHandlers(services: Services): { [C in keyof AppChannels]: Handler<C> } {
  return {
    'app.info': (_req, ctx) => ({ ...services.app, shell: ctx.shell }),
    'app.pickPath': (req) => services.settings.pickPath(req),
    'engine.status': () => services.worker.status,
    'engine.device': async (req) => {
      const pref = req?.pref;
      if (!DEVICE_PREFS.includes(pref)) {
        throw new GraftError('BAD_INPUT', `engine.device: "pref" must be one of ${DEVICE_PREFS.join(', ')}, got ${JSON.stringify(pref)}`, {
          where: 'pref',
        });
      }
      return services.worker.call('device', pref);
    },
    'settings.get': () => services.settings.get(),
    'settings.update': async (req) => {
      const next = services.settings.update(req);
      // A running engine takes the thread count for the sessions it creates from now on; a new one at start.
      if (req?.cpuThreads !== undefined && services.worker.status.state === 'ready') await services.worker.call('threads', next.cpuThreads);
      return next;
    },
    'settings.folders': () => services.settings.folders(),
    // Downloads and uploads carry files between the browser and the machine running `graft serve`; the browser
    // host supplies these (host/transfers.ts). The desktop app reads and writes where its own dialogs say.
    'app.download': () => browserOnly('app.download'),
    'app.uploadStart': () => browserOnly('app.uploadStart'),
    'app.uploadChunk': () => browserOnly('app.uploadChunk'),
    'app.uploadFinish': () => browserOnly('app.uploadFinish'),
    'app.uploadDiscard': () => browserOnly('app.uploadDiscard'),
  };
}

function browserOnly(channel: string): never {
  throw new GraftError('UNSUPPORTED', `${channel}: only the browser page of \`graft serve\` transfers files; the desktop app uses its file dialogs`, { where: channel });
}
