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
    'settings.update': (req) => services.settings.update(req),
  };
}
