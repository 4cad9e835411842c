import { findField, wordError } from '../../src-main/ipc/train';
import { ApiError } from './api';

/** Form fields that are not job options (the run's target), by the key an error names them with. */
const TARGET_LABELS: Record<string, string> = { modelId: 'Base model', datasetId: 'Dataset', name: 'Adapter name' };

/** How the GUI names an option an engine error refers to: its form label, quoted. */
export function fieldLabel(key: string): string {
  return `"${findField(key)?.label ?? TARGET_LABELS[key] ?? key}"`;
}

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
