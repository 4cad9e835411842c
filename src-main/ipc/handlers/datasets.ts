import type { Services } from '../../services/index';
import type { Handler } from '../contract';
import type { DatasetsChannels } from '../datasets';

/** Handlers of the Datasets screen's channels; the dataset service checks its payloads. */
export function datasetHandlers(services: Services): { [C in keyof DatasetsChannels]: Handler<C> } {
  const d = services.datasets;
  return {
    'datasets.list': () => d.list(),
    'datasets.import': (req) => d.import(req),
    'datasets.remove': (req) => d.remove(req?.id),
    'datasets.update': (req) => d.update(req),
    'datasets.inspect': (req) => d.inspect(req),
  };
}
