/**
 * Past training runs: each run that ends (done, failed or cancelled) is kept with its whole event history, so
 * its page (charts, settings, adapter) stays reachable after the next run starts. The list is runs.json; each
 * run's page is history/<job id>.json, both in the user data folder and written atomically.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../../engine/errors';
import { writeFileAtomicSync } from '../../engine/io/atomic';
import type { PastRun, TrainEvent, TrainJob, TrainJobState } from '../../ipc/train';
import type { EventHub } from '../events';
import { JsonStore } from '../json-store';

const ENDED: readonly TrainJobState[] = ['done', 'error', 'cancelled'];

/** The list row of a run: what it trained, when, how it ended and its final loss. */
export function summarizeRun(job: TrainJob, endedAt: string): PastRun {
  const last = <T extends TrainEvent['type']>(type: T) => [...job.events].reverse().find((e): e is Extract<TrainEvent, { type: T }> => e.type === type);
  const done = last('done');
  const lastStep = last('step');
  const lastEval = last('eval');
  return {
    id: job.id,
    name: job.settings.name,
    modelName: job.modelName,
    datasetName: job.datasetName,
    method: job.settings.method,
    state: job.state,
    startedAt: job.startedAt,
    endedAt,
    steps: done?.step ?? lastStep?.step ?? 0,
    finalLoss: done?.loss ?? lastStep?.loss ?? null,
    evalLoss: done?.evalLoss ?? lastEval?.evalLoss ?? null,
    adapterId: job.adapterId,
    error: job.error?.message ?? null,
  };
}

export class RunHistory {
  private readonly index: JsonStore<{ runs: PastRun[] }>;
  private readonly pages: string;
  /** Writes in flight (tests wait for them). */
  private pending: Promise<void> = Promise.resolve();

  constructor(
    dir: string,
    private readonly events: EventHub,
    /** The job with its whole event history, as the worker holds it. */
    private readonly current: () => Promise<TrainJob | null>,
  ) {
    this.index = JsonStore.in(dir, 'runs.json', () => ({ runs: [] }));
    this.pages = path.join(dir, 'history');
    events.on('train.update', (u) => {
      if (ENDED.includes(u.job.state)) this.pending = this.pending.then(() => this.keep(u.job.id)).catch((err: unknown) => console.error('graft: could not keep the run in the history:', err));
    });
  }

  /** Newest first. */
  list(): PastRun[] {
    return [...this.index.get().runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  get(id: string): TrainJob {
    const file = this.pageOf(id);
    if (!existsSync(file)) throw new GraftError('NOT_FOUND', `no past run with id "${id}"`, { where: 'id' });
    return JSON.parse(readFileSync(file, 'utf8')) as TrainJob;
  }

  remove(id: string): void {
    this.get(id);
    this.index.update((s) => {
      s.runs = s.runs.filter((r) => r.id !== id);
    });
    rmSync(this.pageOf(id), { force: true });
    this.events.emit('train.history', this.list());
  }

  /** Resolves once the runs that have ended so far are written. */
  settled(): Promise<void> {
    return this.pending;
  }

  private async keep(id: string): Promise<void> {
    const job = await this.current();
    if (!job || job.id !== id || !ENDED.includes(job.state)) return;
    mkdirSync(this.pages, { recursive: true });
    writeFileAtomicSync(this.pageOf(id), [Buffer.from(JSON.stringify(job))]);
    // A run continued after a cancel ends again under the same id: its row is replaced, not repeated.
    const row = summarizeRun(job, new Date().toISOString());
    this.index.update((s) => {
      s.runs = [...s.runs.filter((r) => r.id !== id), row];
    });
    this.events.emit('train.history', this.list());
  }

  private pageOf(id: string): string {
    if (!/^[\w.-]+$/.test(id)) throw new GraftError('BAD_INPUT', `"${id}" is not a run id`, { where: 'id' });
    return path.join(this.pages, `${id}.json`);
  }
}
