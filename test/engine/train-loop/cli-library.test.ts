/**
 * Issue 18 item 9: the CLI and the app agree. `graft train` saves to the adapter library by default (--out keeps
 * an extra copy of the run folder), the CLI names models the app registered (its models.json), and a cancelled
 * run continues from the hint alone: `--resume <checkpoint>` restores the model, data and every option.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const home = mkdtempSync(join(tmpdir(), 'graft-cli-lib-'));
const env = { ...process.env, GRAFT_LIBRARY: join(home, 'library'), GRAFT_DATA_DIR: join(home, 'data') };
const data = join(home, 'tales.txt');
writeFileSync(data, Array.from({ length: 12 }, (_, i) => `Tom had a red ${['ball', 'car', 'hat'][i % 3]}. He was glad.`).join('\n\n'));
const graft = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), ...args], { encoding: 'utf8', env, timeout: 120_000 });
const library = () => JSON.parse(graft('adapters', 'list', '--json').stdout).entries as { name: string; base: { id: string } }[];
const SMALL = ['--steps', '4', '--seq-len', '32', '--device', 'cpu'];

it.skipIf(!existsSync(MODEL))('train saves to the library by default; --out keeps a copy; names come from --name, --out or the dataset', () => {
  const a = graft('train', '--model', MODEL, '--data', data, ...SMALL);
  expect(a.status, a.stderr).toBe(0);
  expect(a.stderr).toMatch(/adapter "tales" saved to the library/);
  const out = join(home, 'copy');
  const b = graft('train', '--model', MODEL, '--data', data, '--out', out, '--name', 'tales copy', ...SMALL, '--json');
  expect(b.status, b.stderr).toBe(0);
  expect(JSON.parse(b.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'result', name: 'tales copy', out });
  expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
  expect(graft('train', '--model', MODEL, '--data', data, ...SMALL).stderr).toMatch(/adapter "tales \(2\)" saved/);
  expect(library().map((e) => e.name).sort()).toEqual(['tales', 'tales (2)', 'tales copy']);
  // a name that is taken is refused before any training
  const taken = graft('train', '--model', MODEL, '--data', data, '--name', 'tales', ...SMALL);
  expect(taken.status).not.toBe(0);
  expect(taken.stderr).toMatch(/already has an adapter named "tales".*choose another --name/);
}, 240_000);

it.skipIf(!existsSync(MODEL))('a model registered in the app is named by its name in train and generate', () => {
  mkdirSync(env.GRAFT_DATA_DIR, { recursive: true });
  writeFileSync(join(env.GRAFT_DATA_DIR, 'models.json'), JSON.stringify({ models: [{ id: 'm1', name: 'Tiny Stories', path: MODEL, source: 'local', addedAt: '', info: null }] }));
  const t = graft('train', '--model', 'Tiny Stories', '--data', data, '--name', 'from registry', ...SMALL);
  expect(t.status, t.stderr).toBe(0);
  expect(library().find((e) => e.name === 'from registry')?.base.id).toBe(MODEL);
  const g = graft('generate', '--model', 'tiny stories', '--adapter', 'from registry', '--prompt', 'Tom had', '--max-tokens', '4', '--temperature', '0', '--device', 'cpu', '--json');
  expect(g.status, g.stderr).toBe(0);
  expect(JSON.parse(g.stdout).ids).toHaveLength(4);
  const unknown = graft('generate', '--model', 'No Such Model', '--device', 'cpu');
  expect(unknown.stderr).toMatch(/"No Such Model" is neither a file or folder nor the name of a model registered in the app; models registered in the app: "Tiny Stories"/);
}, 240_000);

it.skipIf(!existsSync(MODEL))('the resume hint of a cancelled run works as printed: no --steps, --model or --data again', async () => {
  // --json: the cancel event carries the checkpoint the printed hint names (`continue with --resume <checkpoint>`)
  const child = spawn(process.execPath, [join(ROOT, 'bin/graft.mjs'), 'train', '--model', MODEL, '--data', data, '--name', 'long', '--steps', '400', '--seq-len', '32', '--lr', '2e-3', '--device', 'cpu', '--json'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  let hint = '';
  let sent = false;
  for await (const line of createInterface({ input: child.stdout! })) {
    const e = JSON.parse(line) as { type: string; step?: number; checkpoint?: string };
    if (!sent && e.type === 'step' && e.step! >= 20) {
      child.kill('SIGINT');
      sent = true;
    }
    if (e.type === 'cancelled' && e.checkpoint) hint = `--resume ${e.checkpoint}`;
  }
  expect(hint).toMatch(/^--resume .*checkpoints\/step-\d+$/);
  const r = graft('train', ...hint.split(' '), '--json');
  expect(r.status, r.stderr).toBe(0);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
  const start = events.find((e) => e.type === 'start')!;
  expect(start).toMatchObject({ totalSteps: 400 });
  expect(start.startStep as number).toBeGreaterThan(0);
  expect(events.at(-1)).toMatchObject({ type: 'result', name: 'long', steps: 400 });
  expect(readdirSync(join(env.GRAFT_DATA_DIR, 'runs')).length).toBeGreaterThan(0);
}, 240_000);
