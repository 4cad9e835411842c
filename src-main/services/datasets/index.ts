/**
 * The datasets store: imported files are copied into <user data>/datasets/ (so moving the original later does not
 * break a run) and listed in datasets.json with the user's format override. Validation and previews are engine
 * work and run in the worker ('datasets.inspect').
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DATASET_FORMATS, type ColumnMapping, type DatasetFormat, type TextSplit } from '../../engine/data/types';
import { GraftError } from '../../engine/errors';
import { writeFileAtomicSync } from '../../engine/io/atomic';
import type { DatasetEntry, DatasetReport } from '../../ipc/datasets';
import { MAX_ASSEMBLED_BYTES } from '../../ipc/wire';
import { JsonStore, newId } from '../json-store';
import type { ModelService } from '../models/index';
import type { WorkerClient } from '../worker/client';

const COLUMN_ROLES = ['text', 'prompt', 'response', 'system'] as const;

/** Keeps the named roles with non-empty column names; the engine checks them against the file's header. */
function checkColumns(c: unknown): ColumnMapping | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new GraftError('BAD_INPUT', 'columns must be an object of column names', { where: 'columns' });
  const out: ColumnMapping = {};
  for (const [role, name] of Object.entries(c)) {
    if (!(COLUMN_ROLES as readonly string[]).includes(role)) throw new GraftError('BAD_INPUT', `columns: unknown role "${role}" (known: ${COLUMN_ROLES.join(', ')})`, { where: 'columns' });
    if (name === undefined || name === null || name === '') continue;
    if (typeof name !== 'string') throw new GraftError('BAD_INPUT', `columns.${role} must be a column name`, { where: `columns.${role}` });
    out[role as (typeof COLUMN_ROLES)[number]] = name.trim();
  }
  return Object.keys(out).length ? out : undefined;
}

const EXTENSIONS = ['.jsonl', '.json', '.csv', '.tsv', '.txt'];
const SPLITS: TextSplit[] = ['blank-line', 'line', 'whole'];
/** Text sent over IPC (a dropped file's content): the browser host reassembles at most this from parts. */
const MAX_CONTENT = MAX_ASSEMBLED_BYTES;

export class DatasetService {
  private readonly store: JsonStore<{ datasets: DatasetEntry[] }>;
  private readonly filesDir: string;

  constructor(
    dir: string,
    private readonly worker: WorkerClient,
    private readonly models: ModelService,
  ) {
    this.store = JsonStore.in(dir, 'datasets.json', () => ({ datasets: [] }));
    this.filesDir = path.join(dir, 'datasets');
  }

  list(): DatasetEntry[] {
    return this.store.get().datasets;
  }

  get(id: string): DatasetEntry {
    const d = this.list().find((x) => x.id === id);
    if (!d) throw new GraftError('NOT_FOUND', `no dataset with id "${id}"`, { where: 'datasetId' });
    return d;
  }

  import(req: { name: string; path?: string; content?: string }): DatasetEntry {
    const name = path.basename(String(req?.name ?? req?.path ?? '').trim());
    const ext = path.extname(name).toLowerCase();
    if (!EXTENSIONS.includes(ext)) {
      throw new GraftError('UNSUPPORTED', `${name || 'this file'}: a dataset is a ${EXTENSIONS.join(', ')} file`, { file: name, where: 'name' });
    }
    const id = newId();
    const dest = path.join(this.filesDir, `${id}${ext}`);
    mkdirSync(this.filesDir, { recursive: true });
    if (typeof req.content === 'string') {
      if (req.content.length > MAX_CONTENT) throw new GraftError('BAD_INPUT', `${name}: too large to send from the page; give its path instead`, { file: name });
      writeFileAtomicSync(dest, [Buffer.from(req.content, 'utf8')]);
    } else if (typeof req.path === 'string' && req.path.trim()) {
      const src = path.resolve(req.path.trim());
      if (!existsSync(src) || !statSync(src).isFile()) throw new GraftError('NOT_FOUND', `${src}: no such file`, { file: src, where: 'path' });
      copyFileSync(src, dest);
    } else {
      throw new GraftError('BAD_INPUT', 'give a file path or the file content', { where: 'path' });
    }
    const entry: DatasetEntry = {
      id,
      name,
      path: dest,
      sizeBytes: statSync(dest).size,
      addedAt: new Date().toISOString(),
      format: 'auto',
      textSplit: 'blank-line',
    };
    this.store.update((s) => s.datasets.push(entry));
    return entry;
  }

  update(req: { id: string; format?: DatasetFormat | 'auto'; textSplit?: TextSplit; columns?: ColumnMapping | null }): DatasetEntry {
    const d = this.get(req.id);
    if (req.format !== undefined && req.format !== 'auto' && !DATASET_FORMATS.includes(req.format)) {
      throw new GraftError('BAD_INPUT', `format must be auto or one of ${DATASET_FORMATS.join(', ')}`, { where: 'format' });
    }
    if (req.textSplit !== undefined && !SPLITS.includes(req.textSplit)) {
      throw new GraftError('BAD_INPUT', `textSplit must be one of ${SPLITS.join(', ')}`, { where: 'textSplit' });
    }
    const next: DatasetEntry = { ...d, format: req.format ?? d.format, textSplit: req.textSplit ?? d.textSplit };
    if (req.columns === null) delete next.columns;
    else if (req.columns !== undefined) next.columns = checkColumns(req.columns);
    this.store.update((s) => {
      s.datasets = s.datasets.map((x) => (x.id === d.id ? next : x));
    });
    return next;
  }

  remove(id: string): void {
    const d = this.get(id);
    this.store.update((s) => {
      s.datasets = s.datasets.filter((x) => x.id !== id);
    });
    if (d.path.startsWith(this.filesDir)) rmSync(d.path, { force: true });
  }

  /** Validation, statistics and a preview rendered with a model's tokenizer and chat template: engine work. */
  async inspect(req: { id: string; modelId?: string; seqLen?: number; count?: number }): Promise<DatasetReport> {
    const d = this.get(req?.id);
    const model = req.modelId ? this.models.get(req.modelId) : undefined;
    const r = await this.worker
      .call('datasets.inspect', {
        path: d.path,
        format: d.format,
        textSplit: d.textSplit,
        columns: d.columns,
        modelPath: model?.path,
        seqLen: req.seqLen,
        count: Math.min(Math.max(1, req.count ?? 5), 50),
      })
      .catch((err: unknown) => {
        // The file is stored under an internal name: say the name the user knows.
        if (!(err instanceof GraftError)) throw err;
        throw new GraftError(err.code, err.message.replaceAll(d.path, d.name), { file: d.name, where: err.where, field: err.field });
      });
    // Stored under an internal name: show the name the user gave.
    return { ...r, summary: { ...r.summary, file: d.name }, modelId: model?.id ?? null };
  }
}
