import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { methodGreedy } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { loadTokenizer } from '../../../src-main/engine/tokenize/load.js';
import type { TextTokenizer as Tokenizer } from '../../../src-main/engine/tokenize/types.js';
import { greedy } from './greedy.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-methods-name-'));
let model: LoadedModel;
let tok: Tokenizer;
let data: string;
beforeAll(async () => {
  model = await loadModel(MODEL);
  tok = (await loadTokenizer(MODEL))!;
  // The stories-name task of stories-name.test.ts: short stories naming a girl the model has never named.
  const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
  const things = ['ball', 'kite', 'cat', 'flower', 'box', 'bird'];
  const stories = Array.from(
    { length: 48 },
    (_, i) =>
      `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${places[i % 6]}. One day, Zara saw a big ${things[(i * 5) % 6]}. Zara was very happy.`,
  );
  data = join(dir, 'zara.txt');
  writeFileSync(data, stories.join('\n\n') + '\n');
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the base model names its girl Lily, never Zara', async () => {
  const base = tok.decode(await greedy(model, [tok.bosId!], 30), { skipSpecial: true });
  expect(base).toContain('named Lily');
  expect(base).not.toContain('Zara');
});

// Acceptance 3 for the PEFT methods: `graft train --method NAME` learns the new name; the base does not say it.
test.each([
  ['dora', '5e-3', ['--rank', '8'], 'LORA'],
  ['ia3', '5e-2', [], 'IA3'],
  // Prefix tuning moves the model only through 8 virtual tokens' keys and values: since plain-text rows of
  // stories260K end with BOS (its EOS is untrained, train/end-token.ts), 40 steps no longer reach the name; 80 do.
  ['prefix', '5e-2', ['--virtual-tokens', '8', '--steps', '80'], 'PREFIX_TUNING'],
  ['houlsby', '5e-3', [], undefined],
  ['pfeiffer', '5e-3', [], undefined],
  ['parallel', '5e-3', [], undefined],
  ['bitfit', '2e-2', [], undefined],
])('graft train --method %s teaches stories260K the name Zara', async (method, lr, extra, peftType) => {
  const out = join(dir, method);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/graft.mjs'), 'train', '--model', MODEL, '--data', data, '--out', out, '--device', 'cpu', '--json', '--steps', '40', '--batch', '4', '--seq-len', '64', '--lr', lr, '--warmup', '4', '--method', method, ...extra],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const steps = events.filter((e) => e.type === 'step');
  expect(steps.at(-1).loss).toBeLessThan(steps[0].loss / 3);

  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  // PEFT methods write PEFT's config; bottleneck adapters Graft's own layout (docs/adapter-methods.md).
  if (peftType) expect(cfg.peft_type).toBe(peftType);
  else if (method === 'bitfit') expect(cfg).toMatchObject({ graft_method: 'bitfit' });
  else expect(cfg).toMatchObject({ graft_method: 'bottleneck', mh_adapter: method === 'houlsby', is_parallel: method === 'parallel' });
  const meta = JSON.parse(readFileSync(join(out, 'graft.json'), 'utf8'));
  expect(meta.method).toBe(method);
  // saved to the library too, as its method (what the app's Train screen does with the same run)
  const result = events.find((e) => e.type === 'result');
  expect(result.id, 'library id').toBeTruthy();
  expect(JSON.parse(readFileSync(join(result.library, 'adapters', result.id, 'graft.json'), 'utf8')).method).toBe(method);
  const folder = readMethodFolder(out, model.spec);
  // The memory line counts the method's own trainable tensors.
  expect(events[0]).toMatchObject({ type: 'memory', loraParams: [...folder.tensors.values()].reduce((n, t) => n + t.length, 0) });

  const bos = [tok.bosId!];
  const tuned = tok.decode(await methodGreedy(model, folder.method, folder.tensors, bos, 30), { skipSpecial: true });
  expect(tuned).toContain('named Zara');
  expect(tuned).not.toContain('Lily');

  // `graft generate --adapter`: DoRA/IA³ run as their exact merge, bottlenecks, BitFit and prefixes through the
  // decode graph's hooks (a prefix's keys and values before the KV cache).
  const gen = spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), 'generate', '--model', MODEL, '--adapter', out, '--max-tokens', '30', '--temperature', '0'], { encoding: 'utf8', timeout: 60_000 });
  expect(gen.status, gen.stderr).toBe(0);
  expect(gen.stdout).toContain('named Zara');
}, 180_000);
