/**
 * A small JSON document in the user data folder (model registry, dataset list, settings): read once, written
 * atomically (temp file, fsync, rename) after every change, so a crash never leaves half a file.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../engine/errors';
import { writeFileAtomicSync } from '../engine/io/atomic';

export { dataDir } from '../store/paths';

export class JsonStore<T extends object> {
  private value: T | null = null;

  constructor(
    readonly file: string,
    private readonly initial: () => T,
  ) {}

  get(): T {
    if (this.value) return this.value;
    if (!existsSync(this.file)) return (this.value = this.initial());
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new GraftError('BAD_FILE', `${this.file}: not valid JSON (${(err as Error).message}); fix or delete it`, { file: this.file, cause: err });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new GraftError('BAD_FILE', `${this.file}: not a JSON object; fix or delete it`, { file: this.file });
    }
    return (this.value = { ...this.initial(), ...(parsed as T) });
  }

  update(change: (draft: T) => void): T {
    const next = structuredClone(this.get());
    change(next);
    writeFileAtomicSync(this.file, [Buffer.from(JSON.stringify(next, null, 2) + '\n')]);
    this.value = next;
    return next;
  }

  static in<T extends object>(dir: string, name: string, initial: () => T): JsonStore<T> {
    return new JsonStore(path.join(dir, name), initial);
  }
}

export function newId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
