import { wordError } from '../../src-main/ipc/train';
import { ApiError } from './api';
import { fieldLabel } from './field-label';

/**
 * A readable one-liner for an engine or IPC error, with the file and place when the engine named them. The
 * option at fault (and any option the message refers to as {key}) is called by its label.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const message = wordError(err, fieldLabel);
    const where = [err.file, err.where].filter(Boolean).join(' · ');
    return where && !message.includes(err.file ?? '\u0000') ? `${message} (${where})` : message;
  }
  return err instanceof Error ? err.message : String(err);
}
