/**
 * The job option schemas (engine/options): defaults, ranges, conditions, presets, and the CLI flags derived
 * from them. The parity of CLI and GUI refusals is in test/ipc/train-options-parity.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addSchemaFlags, cliName, inputFromFlags } from '../../src-main/cli/commands/schema-flags';
import { GraftError } from '../../src-main/engine/errors';
import { GENERATE_OPTIONS, parseSampling, QUANT_BASE_OPTIONS } from '../../src-main/engine/options/generate';
import { OPTION_SCHEMAS } from '../../src-main/engine/options/index';
import { defaultsOf, validateOptions } from '../../src-main/engine/options/schema';
import { parseTrainOptions, TRAIN_OPTIONS } from '../../src-main/engine/options/train';
import { presetValues, TRAIN_PRESETS, type PresetName } from '../../src-main/engine/options/train-presets';
import { wordError } from '../../src-main/engine/options/word-error';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof GraftError) return e.toData();
    throw e;
  }
  throw new Error('accepted');
};

describe('option schemas', () => {
  it('every schema validates its own defaults, and a validated object validates again unchanged', () => {
    for (const schema of OPTION_SCHEMAS) {
      const d = defaultsOf(schema);
      expect(validateOptions(schema, {})).toEqual(d);
      expect(validateOptions(schema, d)).toEqual(d);
    }
    const qlora = parseTrainOptions({ method: 'qlora', quant: 'int4', rank: 4 });
    expect(parseTrainOptions(qlora)).toEqual(qlora);
  });

  it('presets are overrides of the defaults that validate, and leave the method and device alone', () => {
    for (const name of Object.keys(TRAIN_PRESETS) as PresetName[]) {
      const v = presetValues(name);
      expect(parseTrainOptions(v)).toMatchObject(v);
      expect(v).not.toHaveProperty('method');
      expect(v).not.toHaveProperty('device');
    }
    expect(presetValues('balanced')).toMatchObject({ rank: 16, batch: 4, seqLen: 512 });
  });

  it('refuses wrong types, ranges, unknown keys and options that do not apply, naming the field', () => {
    expect(refusal(() => parseTrainOptions({ seqLen: '512' }))).toMatchObject({ field: 'seqLen', message: 'must be a whole number >= 2, got "512"' });
    expect(refusal(() => parseTrainOptions({ dropout: 1 }))).toMatchObject({ field: 'dropout', message: 'must be a number >= 0 and < 1, got 1' });
    expect(refusal(() => parseTrainOptions({ targets: [] }))).toMatchObject({ field: 'targets' });
    expect(refusal(() => parseTrainOptions({ ranks: 4 }))).toMatchObject({ field: 'ranks', message: 'is not an option of this job' });
    expect(refusal(() => parseTrainOptions({ precision: 'fp16', method: 'bitfit' }))).toMatchObject({ field: 'precision', message: 'needs {method} lora or qlora' });
    expect(parseTrainOptions({ precision: 'fp16', method: 'qlora' })).toMatchObject({ method: 'qlora', precision: 'fp16' });
    expect(refusal(() => parseTrainOptions({ steps: 5, epochs: 2 }))).toMatchObject({ field: 'epochs' });
    // The default of a field that does not apply is no choice, so it passes (a complete object round-trips).
    expect(parseTrainOptions({ quant: 'nf4' })).toMatchObject({ method: 'lora', quant: 'nf4' });
    expect(refusal(() => parseSampling({ temperature: 9 }))).toMatchObject({ field: 'temperature' });
    expect(refusal(() => validateOptions(QUANT_BASE_OPTIONS, { quantMethod: 'gptq' }))).toMatchObject({ message: 'needs {quant} nf4 or int4 or int4s' });
  });

  it("the adapter methods' settings (issue 16) are fields that apply to their methods only", () => {
    expect(parseTrainOptions({ method: 'prefix', virtualTokens: 8 })).toMatchObject({ method: 'prefix', virtualTokens: 8 });
    expect(parseTrainOptions({ method: 'ia3', ia3Targets: ['v', 'down'] })).toMatchObject({ ia3Targets: ['v', 'down'] });
    expect(parseTrainOptions({ method: 'parallel', adapterScaling: 2, nonLinearity: 'silu' })).toMatchObject({ adapterScaling: 2, nonLinearity: 'silu' });
    expect(refusal(() => parseTrainOptions({ method: 'ia3', rank: 8 }))).toMatchObject({ field: 'rank', message: 'needs {method} lora or qlora or dora' });
    expect(refusal(() => parseTrainOptions({ method: 'dora', dropout: 0.1 }))).toMatchObject({ field: 'dropout', message: 'needs {method} lora or qlora' });
    expect(refusal(() => parseTrainOptions({ method: 'houlsby', adapterScaling: 2 }))).toMatchObject({ field: 'adapterScaling', message: 'needs {method} parallel' });
    expect(refusal(() => parseTrainOptions({ method: 'dora', precision: 'fp16' }))).toMatchObject({ field: 'precision', message: 'needs {method} lora or qlora' });
    expect(refusal(() => parseTrainOptions({ method: 'prefix', virtualTokens: 0 }))).toMatchObject({ field: 'virtualTokens', message: 'must be a whole number >= 1 and <= 512, got 0' });
    expect(refusal(() => parseTrainOptions({ method: 'ia3', ia3Targets: [] }))).toMatchObject({ field: 'ia3Targets' });
  });

  it('words an error for its audience: flags for the CLI, labels for the GUI', () => {
    const e = { message: 'needs {method} qlora', field: 'quant' };
    expect(wordError(e, cliName)).toBe('--quant needs --method qlora');
    expect(wordError(e, (k) => `"${TRAIN_OPTIONS[k as keyof typeof TRAIN_OPTIONS].label}"`)).toBe('"4-bit format" needs "Method" qlora');
    expect(cliName('maxEvalBatches')).toBe('--eval-batches');
    expect(wordError({ message: 'a {json}-like {word} stays' }, () => undefined)).toBe('a {json}-like {word} stays');
  });

  it('builds one CLI flag per field, and reads back only the flags given', async () => {
    const cmd = addSchemaFlags(new Command('x').exitOverride(), GENERATE_OPTIONS);
    expect(cmd.options.map((o) => o.long)).toEqual(Object.keys(GENERATE_OPTIONS).map(cliName));
    cmd.parse(['--top-k', '5', '--seed', '7', '--temperature', 'hot'], { from: 'user' });
    expect(await inputFromFlags(GENERATE_OPTIONS, cmd.opts())).toEqual({ topK: 5, seed: 7, temperature: 'hot' });
  });
});

describe('an option added to the schema', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'graft-opt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--min-lr-ratio (one schema entry + its use in trainAdapter) reaches the schedule', () => {
    const data = join(dir, 'd.txt');
    writeFileSync(data, Array.from({ length: 8 }, (_, i) => `Tom saw ${i} birds by the sea. He waved.`).join('\n\n'));
    const root = new URL('../../', import.meta.url).pathname;
    const model = join(root, '../shared/models/stories260K/stories260K.gguf');
    const args = ['train', '--model', model, '--data', data, '--out', join(dir, 'out'), '--steps', '4', '--batch', '2', '--seq-len', '32'];
    const r = spawnSync(process.execPath, [join(root, 'bin/graft.mjs'), ...args, '--lr', '0.01', '--schedule', 'linear', '--min-lr-ratio', '0.5', '--device', 'cpu', '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lrs = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; lr?: number })
      .filter((e) => e.type === 'step')
      .map((e) => e.lr!);
    expect(lrs).toHaveLength(4);
    // Linear decay from 0.01 ends at half of it instead of 0.
    expect(lrs[0]).toBeCloseTo(0.01, 8);
    expect(lrs[3]).toBeCloseTo(0.005, 8);
  }, 120_000);
});
