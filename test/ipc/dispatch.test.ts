import { describe, expect, it } from 'vitest';
import { GraftError } from '../../src-main/engine/errors';
import type { HandlerTable } from '../../src-main/ipc/contract';
import { defineHandlers, isStreamName } from '../../src-main/ipc/define';
import { dispatch } from '../../src-main/ipc/dispatch';

// Only the three channels below are dispatched here; the screens' channels are typed in, never called.
const others = {} as Omit<HandlerTable, 'app.info' | 'engine.status' | 'engine.device'>;
const table: HandlerTable = defineHandlers({
  ...others,
  'app.info': (_req, ctx) => ({ name: 'graft', version: '1.2.3', shell: ctx.shell, platform: 'test' }),
  'engine.status': () => {
    throw new GraftError('BAD_FILE', 'broken header', { file: '/x/model.gguf', where: 'tensor blk.0.attn_q' });
  },
  'engine.device': async () => {
    throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  },
});

describe('dispatch', () => {
  it('returns the handler value with the caller context', async () => {
    expect(await dispatch(table, 'app.info', undefined, { shell: 'electron' })).toEqual({
      ok: true,
      value: { name: 'graft', version: '1.2.3', shell: 'electron', platform: 'test' },
    });
  });

  it('turns unknown or non-string channels into NOT_FOUND, including prototype keys', async () => {
    for (const channel of ['nope', 42, 'toString', '__proto__']) {
      const r = await dispatch(table, channel, undefined, { shell: 'browser' });
      expect(r).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    }
  });

  it('keeps a GraftError code, file and place', async () => {
    expect(await dispatch(table, 'engine.status', undefined, { shell: 'browser' })).toEqual({
      ok: false,
      error: { code: 'BAD_FILE', message: 'broken header', file: '/x/model.gguf', where: 'tensor blk.0.attn_q' },
    });
  });

  it('maps system errors from async handlers', async () => {
    expect(await dispatch(table, 'engine.device', { pref: 'cpu' }, { shell: 'browser' })).toMatchObject({
      ok: false,
      error: { code: 'IO', message: 'EACCES: permission denied' },
    });
  });

  it('knows the contract stream names at run time', () => {
    expect(isStreamName('engine.status')).toBe(true);
    expect(isStreamName('hasOwnProperty')).toBe(false);
    expect(isStreamName(3)).toBe(false);
  });
});
