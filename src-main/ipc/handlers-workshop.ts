import type { Handler } from './contract';
import type { WorkshopRequests } from './contract-workshop';
import type { Services } from '../services/index';
import { parseEstimateRequest, parseTrainSettings } from './train';

/** Handlers of the Models, Datasets and Train screens; merged into the one table in handlers.ts. */
export function workshopHandlers(services: Services): { [C in keyof WorkshopRequests]: Handler<C> } {
  const w = services.workshop;
  return {
    'app.pickPath': (req) => w.pickPath(req),
    'settings.get': () => w.settings.get(),
    'settings.update': (req) => w.updateSettings(req),
    'models.list': () => w.models.list(),
    'models.add': (req) => w.models.add(req?.path, { name: req?.name }),
    'models.remove': (req) => w.models.remove(req?.id),
    'models.addDemo': () => w.models.addDemo(),
    'models.declineDemo': () => w.models.declineDemo(),
    'models.download': (req) => w.models.download(req?.repo, req?.revision, req?.files),
    'models.cancelDownload': (req) => w.models.cancelDownload(req?.downloadId),
    'datasets.list': () => w.datasets.list(),
    'datasets.import': (req) => w.datasets.import(req),
    'datasets.remove': (req) => w.datasets.remove(req?.id),
    'datasets.update': (req) => w.datasets.update(req),
    'datasets.inspect': (req) => w.inspectDataset(req),
    'train.estimate': (req) => w.estimate(parseEstimateRequest(req)),
    'train.start': (req) => w.startTraining(parseTrainSettings(req)),
    'train.current': () => w.current(),
    'train.pause': () => w.control('pause'),
    'train.resume': () => w.control('resume'),
    'train.cancel': () => w.control('cancel'),
    'train.continue': () => w.continueTraining(),
    'train.exportJob': (req) => w.exportJob(req),
  };
}
