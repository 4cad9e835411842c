/**
 * The model registry (models.json in the user data folder), the bundled demo model offer and Hub downloads.
 * Reading a model's files is engine work: it goes to the worker ('models.inspect').
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraftError, toErrorData } from '../../engine/errors';
import type { DownloadProgress, ModelEntry, ModelList } from '../../ipc/models';
import type { WorkerClient } from '../worker/client';
import type { EventHub } from '../events';
import { downloadRepo, checkRepoId, hubEndpoint } from './hf-download';
import { JsonStore, newId } from '../json-store';

interface Registry {
  models: ModelEntry[];
  demoDeclined: boolean;
}

export const DEMO_FILE = 'stories260K.gguf';

/** resources/demo beside the app: from the source tree, from out/main in a build, or the packaged resources. */
export function findDemoModel(resourcesDir?: string): string | null {
  const candidates: string[] = [];
  if (resourcesDir) candidates.push(path.join(resourcesDir, 'demo', DEMO_FILE));
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    candidates.push(path.join(dir, 'resources', 'demo', DEMO_FILE));
    dir = path.dirname(dir);
  }
  return candidates.find((c) => existsSync(c)) ?? null;
}

export class ModelService {
  private readonly store: JsonStore<Registry>;
  private readonly downloads = new Map<string, AbortController>();
  private readonly progress = new Map<string, DownloadProgress>();

  constructor(
    private readonly dir: string,
    private readonly worker: WorkerClient,
    private readonly events: EventHub,
    private readonly demoPath: string | null,
    /** The Hub address the user chose in settings, if any. */
    private readonly endpointSetting: () => string | null = () => null,
  ) {
    this.store = JsonStore.in(dir, 'models.json', () => ({ models: [], demoDeclined: false }));
  }

  list(): ModelList {
    const r = this.store.get();
    const hasDemo = r.models.some((m) => m.source === 'demo');
    return {
      models: r.models,
      offerDemo: this.demoPath !== null && !hasDemo && !r.demoDeclined && r.models.length === 0,
      demoAvailable: this.demoPath !== null,
      downloads: [...this.progress.values()],
    };
  }

  get(id: string): ModelEntry {
    const m = this.store.get().models.find((x) => x.id === id);
    if (!m) throw new GraftError('NOT_FOUND', `no model with id "${id}" in the registry`, { where: 'modelId' });
    return m;
  }

  async add(p: string, opts: { name?: string; source?: ModelEntry['source']; repo?: string } = {}): Promise<ModelEntry> {
    if (typeof p !== 'string' || !p.trim()) throw new GraftError('BAD_INPUT', 'give the path of a model folder or a .gguf file', { where: 'path' });
    const abs = path.resolve(p.trim());
    if (!existsSync(abs)) throw new GraftError('NOT_FOUND', `${abs}: no such file or folder`, { file: abs, where: 'path' });
    const isDir = statSync(abs).isDirectory();
    if (!isDir && !abs.toLowerCase().endsWith('.gguf')) {
      throw new GraftError('UNSUPPORTED', `${abs}: a model is a Hugging Face folder (config.json + safetensors) or a .gguf file`, { file: abs, where: 'path' });
    }
    // Reading the files proves the model loads; an unreadable one is refused here, not at training time.
    const info = await this.worker.call('models.inspect', { path: abs });
    const existing = this.store.get().models.find((m) => m.path === abs);
    const entry: ModelEntry = {
      id: existing?.id ?? newId(),
      name: opts.name?.trim() || (opts.repo ?? path.basename(abs).replace(/\.gguf$/i, '')),
      path: abs,
      source: opts.source ?? 'local',
      ...(opts.repo ? { repo: opts.repo } : {}),
      addedAt: existing?.addedAt ?? new Date().toISOString(),
      info,
    };
    this.store.update((r) => {
      r.models = [...r.models.filter((m) => m.id !== entry.id), entry];
    });
    return entry;
  }

  remove(id: string): void {
    this.get(id);
    this.store.update((r) => {
      r.models = r.models.filter((m) => m.id !== id);
    });
  }

  addDemo(): Promise<ModelEntry> {
    if (!this.demoPath) throw new GraftError('NOT_FOUND', `the demo model (${DEMO_FILE}) is not bundled with this build`);
    return this.add(this.demoPath, { name: 'stories260K (demo)', source: 'demo' });
  }

  declineDemo(): void {
    this.store.update((r) => {
      r.demoDeclined = true;
    });
  }

  /** Starts a download in the background; progress goes out on the 'models.download' stream. */
  download(repo: string, revision = 'main', files?: string[]): { downloadId: string } {
    checkRepoId(repo);
    const downloadId = newId();
    const ac = new AbortController();
    this.downloads.set(downloadId, ac);
    // One folder per revision: files of another revision are never taken for these (main keeps the plain name).
    const rev = revision === 'main' ? '' : `@${revision.replace(/[^\w.-]/g, '_')}`;
    const dest = path.join(this.dir, 'models', repo.replace('/', '--') + rev);
    const base: DownloadProgress = { downloadId, repo, state: 'listing', file: null, fileIndex: 0, fileCount: 0, bytes: 0, total: 0, speed: 0, etaMs: null, resumedBytes: 0 };
    let last = base;
    const emit = (p: DownloadProgress) => {
      this.progress.set(downloadId, (last = p));
      this.events.emit('models.download', p);
    };
    emit(base);
    void (async () => {
      try {
        const { files: got } = await downloadRepo({
          endpoint: this.endpointSetting() ?? hubEndpoint(),
          repo,
          revision,
          dest,
          files,
          signal: ac.signal,
          onProgress: (p) => emit({ ...base, state: p.verifying ? 'verifying' : 'downloading', ...p }),
        });
        const gguf = got.find((f) => f.endsWith('.gguf'));
        const entry = await this.add(existsSync(path.join(dest, 'config.json')) ? dest : (gguf ?? dest), { source: 'hub', repo });
        emit({ ...last, state: 'done', etaMs: 0, modelId: entry.id });
      } catch (err) {
        emit({ ...last, state: ac.signal.aborted ? 'cancelled' : 'error', error: ac.signal.aborted ? undefined : toErrorData(err) });
      } finally {
        this.downloads.delete(downloadId);
      }
    })();
    return { downloadId };
  }

  cancelDownload(id: string): void {
    const ac = this.downloads.get(id);
    if (!ac) throw new GraftError('NOT_FOUND', `no running download "${id}"`, { where: 'downloadId' });
    ac.abort();
  }
}
