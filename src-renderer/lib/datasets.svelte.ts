/** Renderer state of the Datasets screen: the list of imported datasets, from the main side. */
import type { DatasetEntry } from '../../src-main/ipc/datasets';
import { api } from './api';
import { errorText } from './errors';

class DatasetsState {
  list = $state<DatasetEntry[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);

  async load(): Promise<void> {
    try {
      this.list = await api.call('datasets.list');
      this.error = null;
    } catch (err) {
      this.error = errorText(err);
    }
    this.loaded = true;
  }
}

export const datasets = new DatasetsState();
