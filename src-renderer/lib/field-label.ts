import { findField } from '../../src-main/ipc/train';

/** Form fields that are not job options (the run's target), by the key an error names them with. */
const TARGET_LABELS: Record<string, string> = { modelId: 'Base model', datasetId: 'Dataset', name: 'Adapter name' };

/** How the GUI names an option an engine error refers to: its form label, quoted. */
export function fieldLabel(key: string): string {
  return `"${findField(key)?.label ?? TARGET_LABELS[key] ?? key}"`;
}
