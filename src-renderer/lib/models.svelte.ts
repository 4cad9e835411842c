/** Renderer state of the Models screen: the list comes from the main side, downloads stream on 'models.download'. */
import type { DownloadProgress, ModelEntry } from '../../src-main/ipc/models';
import { api } from './api';
import { errorText } from './errors';

class ModelsState {
  list = $state<ModelEntry[]>([]);
  offerDemo = $state(false);
  demoAvailable = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  downloads = $state<Record<string, DownloadProgress>>({});
  private subscribed = false;

  async load(): Promise<void> {
    if (!this.subscribed) {
      this.subscribed = true;
      api.subscribe('models.download', (p) => {
        this.downloads = { ...this.downloads, [p.downloadId]: p };
        if (p.state === 'done') void this.load();
      });
    }
    try {
      const r = await api.call('models.list');
      this.list = r.models;
      this.offerDemo = r.offerDemo;
      this.demoAvailable = r.demoAvailable;
      // Events that arrived meanwhile are newer than the listing's copy.
      this.downloads = Object.fromEntries(r.downloads.map((d) => [d.downloadId, this.downloads[d.downloadId] ?? d]));
      this.error = null;
    } catch (err) {
      this.error = errorText(err);
    }
    this.loaded = true;
  }
}

export const models = new ModelsState();
