import type { Services } from '../../services/index';
import type { Handler } from '../contract';
import type { ModelsChannels } from '../models';

/** Handlers of the Models screen's channels; the model service checks its payloads. */
export function modelHandlers(services: Services): { [C in keyof ModelsChannels]: Handler<C> } {
  const m = services.models;
  return {
    'models.list': () => m.list(),
    'models.add': (req) => m.add(req?.path, { name: req?.name }),
    'models.remove': (req) => m.remove(req?.id),
    'models.addDemo': () => m.addDemo(),
    'models.declineDemo': () => m.declineDemo(),
    'models.download': (req) => m.download(req?.repo, req?.revision, req?.files),
    'models.cancelDownload': (req) => m.cancelDownload(req?.downloadId),
  };
}
