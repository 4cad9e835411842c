import { ApiError } from './api';

/** A readable one-liner for an engine or IPC error, with the file and place when the engine named them. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const where = [err.file, err.where].filter(Boolean).join(' · ');
    return where && !err.message.includes(err.file ?? '\u0000') ? `${err.message} (${where})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
