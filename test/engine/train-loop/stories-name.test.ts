import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { readPeftWeights } from '../../../src-main/engine/adapters/compat.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { loadTokenizer } from '../../../src-main/engine/tokenize/load.js';
import { greedy } from './greedy.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-stories-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Short stories in the model's own style, each introducing a girl with a name it has never used. */
function storyDataset(name: string): string {
  const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
  const things = ['ball', 'kite', 'cat', 'flower', 'box', 'bird'];
  const stories: string[] = [];
  for (let i = 0; i < 48; i++) {
    const p = places[i % places.length];
    const t = things[(i * 5) % things.length];
    stories.push(
      `Once upon a time, there was a little girl named ${name}. ${name} loved to play in the ${p}. One day, ${name} saw a big ${t}. ${name} was very happy.`,
    );
  }
  return stories.join('\n\n') + '\n';
}

test("graft train teaches stories260K a new girl's name in under 3 minutes on CPU (acceptance 3)", async () => {
  const data = join(dir, 'zara.txt');
  writeFileSync(data, storyDataset('Zara'));
  const out = join(dir, 'adapter');
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/graft.mjs'),
      'train',
      '--model',
      MODEL,
      '--data',
      data,
      '--out',
      out,
      '--device',
      'cpu',
      '--json',
      '--steps',
      '40',
      '--batch',
      '4',
      '--seq-len',
      '64',
      '--lr',
      '5e-3',
      '--rank',
      '8',
      '--warmup',
      '4',
      '--val-split',
      '0.1',
      '--eval-every',
      '20',
    ],
    { encoding: 'utf8', timeout: 170_000 },
  );
  const seconds = (Date.now() - t0) / 1000;
  expect(r.status, r.stderr).toBe(0);
  expect(seconds).toBeLessThan(180);

  // JSON lines: a memory estimate, a start, 40 steps with falling loss, evals, the result.
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(events[0].type).toBe('memory');
  const steps = events.filter((e) => e.type === 'step');
  expect(steps).toHaveLength(40);
  expect(steps[39].loss).toBeLessThan(steps[0].loss / 3);
  expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([20, 40]);
  expect(events.at(-1)).toMatchObject({ type: 'result', steps: 40 });

  const meta = JSON.parse(readFileSync(join(out, 'graft.json'), 'utf8'));
  expect(meta.base.hash).toBe('270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
  expect(meta.dataset.name).toBe('zara.txt');
  expect(meta.metrics.tokensSeen).toBeGreaterThan(0);
  expect(meta.training.device).toMatch(/^cpu/);

  const tok = (await loadTokenizer(MODEL))!;
  const model = await loadModel(MODEL);
  try {
    const adapter = readPeftWeights(out);
    const bos = [tok.bosId!];
    const base = tok.decode(await greedy(model, bos, 30), { skipSpecial: true });
    const tuned = tok.decode(await greedy(model, bos, 30, adapter), { skipSpecial: true });
    expect(base).toContain('named Lily');
    expect(tuned).toContain('named Zara');
    expect(tuned).not.toContain('Lily');
  } finally {
    model.source.close();
  }
}, 240_000);
