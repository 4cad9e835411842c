/**
 * One schema, one verdict: the same bad training options are refused by `graft train` and by the Train screen's
 * request (the real handler table) with the same code, the same field and the same rule; the CLI words the
 * field as its flag, the GUI as its label.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliName } from '../../src-main/cli/commands/schema-flags';
import { TRAIN_OPTIONS } from '../../src-main/engine/options/train';
import type { GraftErrorData } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';
import { wordError } from '../../src-main/ipc/train';
import { fieldLabel } from '../../src-renderer/lib/field-label';
import { useHandlerTable } from './handler-harness';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const h = useHandlerTable('graft-parity-');
const tmp = h.tmp;

/** Each bad value as the GUI sends it (JSON) and as a person types it on the command line. */
const BAD: { field: keyof typeof TRAIN_OPTIONS; gui: unknown; cli: string; rule: string }[] = [
  { field: 'rank', gui: 2.5, cli: '2.5', rule: 'must be a whole number >= 1, got 2.5' },
  { field: 'beta1', gui: 1, cli: '1', rule: 'must be a number >= 0 and < 1, got 1' },
  { field: 'device', gui: 'tpu', cli: 'tpu', rule: 'must be one of auto, cpu, gpu, got "tpu"' },
  { field: 'steps', gui: -3, cli: '-3', rule: 'must be a whole number >= 1, got -3' },
];

async function guiRefusal(field: string, value: unknown): Promise<GraftErrorData> {
  const r = await dispatch(h.table(), 'train.start', { modelId: 'm', datasetId: 'd', name: 'bad', [field]: value }, { shell: 'browser' });
  if (r.ok) throw new Error(`train.start accepted ${field} = ${JSON.stringify(value)}`);
  return r.error;
}

function cliRefusal(field: string, value: string): string {
  const data = join(tmp, 'd.txt');
  writeFileSync(data, 'Once upon a time.\n\nThe end.\n');
  const flag = cliName(field);
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), 'train', '--model', MODEL, '--data', data, '--out', join(tmp, 'out'), `${flag}=${value}`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(1);
  return r.stderr.trim().split('\n').at(-1)!;
}

describe('bad training options', () => {
  it.each(BAD)('$field = $cli is refused by the CLI and the GUI alike, with the field named', async ({ field, gui, cli, rule }) => {
    const err = await guiRefusal(field, gui);
    expect(err).toMatchObject({ code: 'BAD_INPUT', field, message: rule });
    // The GUI words it by the form's label; the CLI by the flag. Same rule, same code.
    expect(wordError(err, fieldLabel)).toBe(`"${TRAIN_OPTIONS[field].label}" ${rule}`);
    expect(cliRefusal(field, cli)).toBe(`graft: BAD_INPUT: --${field} ${rule}`);
  }, 60_000);

  it('refuses an option that does not apply to the method, in both', async () => {
    const err = await guiRefusal('quant', 'int4');
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'quant', message: 'needs {method} qlora' });
    expect(wordError(err, fieldLabel)).toBe('"4-bit format" needs "Method" qlora');
    expect(cliRefusal('quant', 'int4')).toBe('graft: BAD_INPUT: --quant needs --method qlora');
  }, 60_000);

  it('the app trains the methods its library holds; graft train takes the others', async () => {
    const err = await guiRefusal('method', 'fusion');
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'method', message: 'must be one of lora, qlora, dora, ia3, prefix, houlsby, pfeiffer, parallel, bitfit in the app (train fusion with graft train), got "fusion"' });
  });
});
