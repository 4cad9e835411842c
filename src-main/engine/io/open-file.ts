import { openSync } from 'node:fs';
import { GraftError } from '../errors.js';

/** Opens a file for reading; a missing file is NOT_FOUND naming it, other failures pass through. */
export function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GraftError('NOT_FOUND', `${path}: no such file`, { file: path, cause: err });
    throw err;
  }
}
