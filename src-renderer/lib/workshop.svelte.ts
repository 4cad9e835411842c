/**
 * Renderer state of the Models, Datasets and Train screens. The lists come from the main side; the training job
 * lives in the engine worker, and this state only mirrors it (train.current on load, then 'train.update'), so
 * a reloaded page or a reopened window reattaches to a run in progress.
 */
import { isActiveJob } from '../../src-main/ipc/train';
import type { DatasetEntry, DownloadProgress, ModelEntry, PickPathRequest, TrainJob } from '../../src-main/ipc/contract-workshop';
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

class TrainingState {
  job = $state<TrainJob | null>(null);
  private started = false;

  /** Subscribes first, then asks for the current job, so no event falls between the two. */
  async attach(): Promise<void> {
    if (this.started) return;
    this.started = true;
    api.subscribe('train.update', (u) => {
      const prev = this.job && this.job.id === u.job.id ? this.job.events : [];
      this.job = { ...u.job, events: u.event ? [...prev, u.event] : prev };
    });
    // A run lives in the engine worker: if that dies, the run is over, and the screen must say so.
    api.subscribe('engine.status', (st) => {
      const job = this.job;
      if ((st.state === 'crashed' || st.state === 'stopped') && job && isActiveJob(job.state)) {
        this.job = { ...job, state: 'error', error: { code: 'INTERNAL', message: `The engine stopped during the run (${st.detail ?? st.state}); checkpoints saved so far are kept.` } };
      }
    });
    const r = await api.invoke('train.current');
    if (r.ok && r.value && (!this.job || this.job.id !== r.value.id || r.value.events.length >= this.job.events.length)) this.job = r.value;
  }
}

class ShellState {
  shell = $state<'electron' | 'browser' | null>(null);
  async load(): Promise<void> {
    if (this.shell) return;
    const r = await api.invoke('app.info');
    if (r.ok) this.shell = r.value.shell;
  }
  get canPick(): boolean {
    return this.shell === 'electron';
  }
  async pick(req: PickPathRequest): Promise<string | null> {
    return api.call('app.pickPath', req);
  }
}

export const models = new ModelsState();
export const datasets = new DatasetsState();
export const training = new TrainingState();
export const shell = new ShellState();

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}K`;
  return String(n);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
