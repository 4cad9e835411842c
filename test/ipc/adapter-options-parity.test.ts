/**
 * Import and export options declared once (engine/options/adapters.ts): `graft adapters export` and the Adapters
 * screen's `adapters.export` request (the real handler table) refuse the same bad values with the same code,
 * field and rule; the CLI words the field as its flag, the GUI as its label. The import schema names the flag
 * `--base` for the request's `basePath`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliName } from '../../src-main/cli/commands/schema-flags';
import { EXPORT_OPTIONS, IMPORT_OPTIONS } from '../../src-main/engine/options/adapters';
import type { GraftErrorData } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';
import { wordError } from '../../src-main/ipc/train';
import { fieldLabel } from '../../src-renderer/lib/field-label';
import { useHandlerTable } from './handler-harness';

const ROOT = new URL('../../', import.meta.url).pathname;
const h = useHandlerTable('graft-adapter-parity-');
const tmp = h.tmp;

/** Each bad export as the GUI sends it (JSON) and as a person types it (flags). */
const BAD: { name: string; field: keyof typeof EXPORT_OPTIONS; gui: Record<string, unknown>; cli: string[]; rule: string }[] = [
  { name: 'an unknown format', field: 'format', gui: { format: 'exe' }, cli: ['--format', 'exe'], rule: 'must be one of peft, peft-zip, gguf, merged, merged-gguf, got "exe"' },
  { name: 'an unknown GGUF type', field: 'ggufType', gui: { format: 'gguf', ggufType: 'Q4' }, cli: ['--format', 'gguf', '--gguf-type', 'Q4'], rule: 'must be one of F32, F16, got "Q4"' },
  { name: 'a base for a PEFT export', field: 'base', gui: { format: 'peft', base: '/models/x' }, cli: ['--format', 'peft', '--base', '/models/x'], rule: 'needs {format} gguf or merged or merged-gguf' },
];

async function guiRefusal(channel: 'adapters.export' | 'adapters.import', req: Record<string, unknown>): Promise<GraftErrorData> {
  const r = await dispatch(h.table(), channel, req, { shell: 'browser' });
  if (r.ok) throw new Error(`${channel} accepted ${JSON.stringify(req)}`);
  return r.error;
}

function cliRefusal(args: string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), 'adapters', 'export', 'some-adapter', '--library', join(tmp, 'library'), '--out', join(tmp, 'out'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(1);
  return r.stderr.trim().split('\n').at(-1)!;
}

describe('bad export options', () => {
  it.each(BAD)('$name is refused by the CLI and the GUI alike, with the field named', async ({ field, gui, cli, rule }) => {
    const err = await guiRefusal('adapters.export', { id: 'some-adapter', out: join(tmp, 'out'), ...gui });
    expect(err).toMatchObject({ code: 'BAD_INPUT', field, message: rule });
    // The GUI words the field and any option the rule mentions ({format}) by their labels; the CLI by flags.
    expect(wordError(err, fieldLabel)).toBe(`"${EXPORT_OPTIONS[field].label}" ${rule.replace('{format}', '"Format"')}`);
    expect(cliRefusal(cli)).toBe(`graft: BAD_INPUT: ${cliName(field)} ${rule.replace('{format}', '--format')}`);
  }, 60_000);
});

describe('import options', () => {
  it('the request refuses a bad or unknown option naming the field; the CLI calls basePath --base', async () => {
    expect(await guiRefusal('adapters.import', { path: '/x', name: 3 })).toMatchObject({ code: 'BAD_INPUT', field: 'name', message: 'must be text, got 3' });
    expect(await guiRefusal('adapters.import', { path: '/x', rank: 4 })).toMatchObject({ code: 'BAD_INPUT', field: 'rank', message: 'is not an option of this job' });
    expect(cliName('basePath')).toBe('--base');
    expect(IMPORT_OPTIONS.basePath.label).toBe('Base model');
  });
});
