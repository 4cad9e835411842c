import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';

// Every write fails as on a full disk: the message must name the folder that needs room (issue 15 item 9).
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const full = () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  return { ...fs, default: { ...fs, writeSync: full }, writeSync: full };
});

const { writeFileAtomicSync } = await import('../../../src-main/engine/io/atomic.js');

describe('a full disk', () => {
  it('names the folder and the file, replaces nothing and leaves no temp file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-full-'));
    const target = path.join(dir, 'adapter_model.safetensors');
    writeFileSync(target, 'old');
    expect(() => writeFileAtomicSync(target, [new Uint8Array(16)])).toThrow(
      expect.objectContaining({ code: 'IO', message: `${dir}: no space left on the disk while writing adapter_model.safetensors; nothing was replaced. Free some space there and try again` }),
    );
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['adapter_model.safetensors']);
    expect(existsSync(target)).toBe(true);
  });
});
