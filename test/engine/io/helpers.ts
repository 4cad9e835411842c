import { expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../../../src-main/engine/errors.js';

export const FIX = '/work/shared/fixtures/hf-reference';
export const STORIES = '/work/shared/models/stories260K/stories260K.gguf';
export const SMOLLM_TOK = '/work/shared/models/smollm2-135m-instruct-tokenizer';

export const tmp = (tag = 'io') => mkdtempSync(join(tmpdir(), `graft-${tag}-`));

/** Asserts `fn` throws a GraftError with `code` whose message mentions each string. */
export async function expectGraftError(fn: () => unknown, code: string, ...mentions: string[]): Promise<GraftError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GraftError);
    expect((err as GraftError).code).toBe(code);
    for (const m of mentions) expect((err as GraftError).message).toContain(m);
    return err as GraftError;
  }
  throw new Error(`expected a ${code} error`);
}
