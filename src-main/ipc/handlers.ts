import { GraftError } from '../engine/errors';
import { DEVICE_PREFS } from '../engine/runtime/device-pref';
import type { HandlerTable } from './contract';
import { defineHandlers } from './define';
import { adapterChatHandlers } from './handlers-adapters-chat';
import { workshopHandlers } from './handlers-workshop';
import type { Services } from '../services/index';

/** The one handler table, served by Electron IPC and the browser host alike. */
export function createHandlers(services: Services): HandlerTable {
  return defineHandlers({
    'app.info': (_req, ctx) => ({ ...services.app, shell: ctx.shell }),
    'engine.status': () => services.engine.status,
    'engine.device': async (req) => {
      const pref = req?.pref;
      if (!DEVICE_PREFS.includes(pref)) {
        throw new GraftError('BAD_INPUT', `engine.device: "pref" must be one of ${DEVICE_PREFS.join(', ')}, got ${JSON.stringify(pref)}`, {
          where: 'pref',
        });
      }
      return services.engine.call('device', pref);
    },
    ...adapterChatHandlers(services),
    ...workshopHandlers(services),
  });
}
