/** Acceptance 5 (CLI half): `graft train --method qlora` lowers the loss like LoRA; `graft generate --quant` runs. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-qlora-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, GRAFT_QUANT_CACHE: join(dir, 'qcache') };

const story = (i: number) =>
  `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${['park', 'garden', 'forest'][i % 3]}. One day, Zara saw a big ${['ball', 'kite', 'cat', 'box'][i % 4]}. Zara was very happy.`;

function graft(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), ...args], { encoding: 'utf8', env, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`graft ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function trainLosses(method: string[]): { losses: number[]; graft: { method: string } } {
  const out = join(dir, method.join('-') || 'lora');
  const stdout = graft([
    'train',
    '--model',
    MODEL,
    '--data',
    join(dir, 'zara.txt'),
    '--out',
    out,
    '--device',
    'cpu',
    '--json',
    '--steps',
    '16',
    '--batch',
    '4',
    '--seq-len',
    '64',
    '--lr',
    '5e-3',
    '--rank',
    '8',
    '--seed',
    '1',
    ...method,
  ]);
  const losses = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'step')
    .map((e) => e.loss as number);
  return { losses, graft: JSON.parse(readFileSync(join(out, 'graft.json'), 'utf8')) };
}

/** `graft generate` on the CPU, 12 greedy tokens from BOS, with these flags; its --json result. */
const greedy12 = (flags: string[]) =>
  JSON.parse(
    graft(['generate', '--model', MODEL, '--device', 'cpu', ...flags, '--temperature', '0', '--max-tokens', '12', '--json'])
      .trim()
      .split('\n')
      .at(-1)!,
  ) as {
    text: string;
  };

test('graft train --method qlora lowers the loss like fp32 LoRA, and generate --quant runs on the 4-bit base', () => {
  writeFileSync(join(dir, 'zara.txt'), Array.from({ length: 24 }, (_, i) => story(i)).join('\n\n') + '\n');
  const lora = trainLosses([]);
  const first = (l: number[]) => (l[0] + l[1]) / 2;
  const last = (l: number[]) => (l.at(-1)! + l.at(-2)!) / 2;
  for (const quant of ['nf4', 'int4']) {
    const q = trainLosses(['--method', 'qlora', '--quant', quant]);
    console.log(
      `${quant}: loss ${first(q.losses).toFixed(3)} → ${last(q.losses).toFixed(3)} (fp32 LoRA ${first(lora.losses).toFixed(3)} → ${last(lora.losses).toFixed(3)})`,
    );
    expect(q.graft.method).toBe('qlora');
    expect(q.losses).toHaveLength(16);
    expect(last(q.losses)).toBeLessThan(first(q.losses) * 0.5);
    // Same data, seed and schedule: the 4-bit base ends near where the fp32 one does.
    expect(Math.abs(last(q.losses) - last(lora.losses))).toBeLessThan(0.25 * first(lora.losses));
  }
  // GPTQ-rounded int4 base: trains the same way; its cache entry is then found by generate.
  const g = trainLosses(['--method', 'qlora', '--quant', 'int4', '--quant-method', 'gptq']);
  expect(last(g.losses)).toBeLessThan(first(g.losses) * 0.5);
  expect(Math.abs(last(g.losses) - last(lora.losses))).toBeLessThan(0.25 * first(lora.losses));
  const entries = readdirSync(join(dir, 'qcache')).length;
  const genG = greedy12(['--quant', 'int4', '--quant-method', 'gptq']);
  expect(genG.text).toMatch(/^Once upon a time/);
  expect(readdirSync(join(dir, 'qcache'))).toHaveLength(entries);
  expect(readdirSync(join(dir, 'qcache'))).toContainEqual(expect.stringMatching(/-int4-gptq1\.gq$/));
  expect(() => graft(['generate', '--model', MODEL, '--quant-method', 'gptq'])).toThrow(/--quant-method needs --quant/);
  const gen = greedy12(['--quant', 'int4']);
  expect(gen.text).toMatch(/^Once upon a time/);
  // train wrote one cache entry per scheme; generate found the int4 one instead of adding another
  expect(readdirSync(join(dir, 'qcache')).sort()).toEqual([
    expect.stringMatching(/-int4-gptq1\.gq$/),
    expect.stringMatching(/-int4\.gq$/),
    expect.stringMatching(/-nf4\.gq$/),
  ]);
  // int4s: symmetric blocks, their own cache entry; the story still starts as stories260K's do
  const genS = greedy12(['--quant', 'int4s']);
  expect(genS.text).toMatch(/^Once upon a time/);
  expect(readdirSync(join(dir, 'qcache'))).toContainEqual(expect.stringMatching(/-int4s\.gq$/));
  const gen8 = greedy12(['--quant', 'nf4', '--quant-embeddings', 'int8']);
  expect(gen8.text).toMatch(/^Once upon a time/);
  expect(readdirSync(join(dir, 'qcache'))).toContainEqual(expect.stringMatching(/-nf4-e8\.gq$/));
  expect(() =>
    graft(['train', '--model', MODEL, '--data', join(dir, 'zara.txt'), '--out', join(dir, 'bad'), '--quant', 'int4', '--steps', '1']),
  ).toThrow(/--quant needs --method qlora/);
}, 120_000);
