import type { Services } from '../../services/index';
import type { Handler } from '../contract';
import { parseEstimateRequest, parseTrainSettings, type TrainChannels } from '../train';

/** Handlers of the Train screen's channels: requests are checked by the train schema (ipc/train.ts). */
export function trainHandlers(services: Services): { [C in keyof TrainChannels]: Handler<C> } {
  const t = services.train;
  return {
    'train.estimate': (req) => t.estimate(parseEstimateRequest(req)),
    'train.start': (req) => t.start(parseTrainSettings(req)),
    'train.current': () => t.current(),
    'train.pause': () => t.control('pause'),
    'train.resume': () => t.control('resume'),
    'train.cancel': () => t.control('cancel'),
    'train.continue': () => t.continue(),
    'train.exportJob': (req) => t.exportJob(req),
  };
}
