/** Run history (issue 18 item 10): a new run no longer replaces the last one's page. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrainJob, TrainJobState } from '../../src-main/ipc/train';
import { EventHub } from '../../src-main/services/events';
import { RunHistory } from '../../src-main/services/train/history';

let dir: string;
let events: EventHub;
let job: TrainJob | null;
let history: RunHistory;

function run(id: string, name: string, startedAt: string, losses: number[], state: TrainJobState, adapterId: string | null): TrainJob {
  const steps = losses.map((loss, i) => ({ type: 'step' as const, step: i + 1, totalSteps: losses.length, epoch: 0, loss, lr: 1e-3, gradNorm: 1, tokensPerSec: 100, tokensSeen: 10 * (i + 1), elapsedMs: i, etaMs: 0 }));
  const done = state === 'done' ? [{ type: 'done' as const, step: losses.length, loss: losses.at(-1)!, evalLoss: null, tokensSeen: 10 * losses.length, elapsedMs: 5 }] : [];
  return {
    id,
    state,
    settings: { name, method: 'lora' } as TrainJob['settings'],
    modelName: 'stories260K (demo)',
    datasetName: 'tim.jsonl',
    startedAt,
    memory: null,
    quantize: null,
    warnings: [],
    adapterId,
    device: 'cpu',
    error: state === 'error' ? { code: 'INTERNAL', message: 'boom' } : null,
    events: [...steps, ...done],
  };
}

/** The worker's current job changes, then its update is emitted, as the train service does. */
async function end(j: TrainJob): Promise<void> {
  job = j;
  const { events: _e, ...status } = j;
  events.emit('train.update', { job: status });
  await history.settled();
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-runs-'));
  events = new EventHub();
  job = null;
  history = new RunHistory(dir, events, async () => job);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('run history', () => {
  it('keeps every ended run with its page, newest first, with final loss, date and adapter', async () => {
    await end(run('a1', 'first', '2026-12-01T10:00:00.000Z', [3, 2, 1.5], 'done', 'adapter-1'));
    // A running update is no end: nothing is kept for it.
    job = run('b2', 'second', '2026-12-01T11:00:00.000Z', [4], 'running', null);
    events.emit('train.update', { job: { ...job, events: undefined } as never });
    await history.settled();
    expect(history.list().map((r) => r.id)).toEqual(['a1']);
    const announced: string[][] = [];
    events.on('train.history', (l) => announced.push(l.map((r) => r.id)));
    await end(run('b2', 'second', '2026-12-01T11:00:00.000Z', [4, 3.25], 'cancelled', null));
    // The screens hear of the new row once it is written.
    expect(announced).toEqual([['b2', 'a1']]);
    const list = history.list();
    expect(list.map((r) => [r.id, r.name, r.state, r.finalLoss, r.adapterId, r.steps])).toEqual([
      ['b2', 'second', 'cancelled', 3.25, null, 2],
      ['a1', 'first', 'done', 1.5, 'adapter-1', 3],
    ]);
    expect(Date.parse(list[0].endedAt)).not.toBeNaN();
    // The first run's page is still there, whole, after the second ran.
    expect(history.get('a1').events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? e.loss : 0))).toEqual([3, 2, 1.5]);
    // Kept across a restart of the app.
    expect(new RunHistory(dir, new EventHub(), async () => null).list()).toHaveLength(2);
  });

  it('replaces the row of a run continued after a cancel, and forgets a run on request', async () => {
    await end(run('c3', 'again', '2026-12-01T12:00:00.000Z', [2], 'cancelled', null));
    await end(run('c3', 'again', '2026-12-01T12:00:00.000Z', [2, 1], 'done', 'adapter-3'));
    expect(history.list()).toMatchObject([{ id: 'c3', state: 'done', finalLoss: 1, adapterId: 'adapter-3' }]);
    history.remove('c3');
    expect(history.list()).toEqual([]);
    expect(existsSync(path.join(dir, 'history', 'c3.json'))).toBe(false);
    expect(() => history.get('c3')).toThrow(/no past run/);
    expect(() => history.get('../settings')).toThrow(/not a run id/);
  });
});
