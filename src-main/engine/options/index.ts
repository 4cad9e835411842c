/** Every job's options schema, and the lookup of a field by its key (how the CLI and the GUI word errors). */
import { EXPORT_OPTIONS, IMPORT_OPTIONS } from './adapters.js';
import { COMPOSE_OPTIONS } from './compose.js';
import { DATA_SOURCE_OPTIONS, INSPECT_OPTIONS } from './dataset.js';
import { EXPORT_METHOD_OPTIONS } from './export-method.js';
import { GENERATE_OPTIONS, QUANT_BASE_OPTIONS } from './generate.js';
import type { Field, Schema } from './schema.js';
import { TRAIN_OPTIONS } from './train.js';

export const OPTION_SCHEMAS: readonly Schema[] = [
  TRAIN_OPTIONS,
  GENERATE_OPTIONS,
  QUANT_BASE_OPTIONS,
  INSPECT_OPTIONS,
  DATA_SOURCE_OPTIONS,
  IMPORT_OPTIONS,
  EXPORT_OPTIONS,
  COMPOSE_OPTIONS,
  EXPORT_METHOD_OPTIONS,
];

/** The field an error's key names, in whichever schema declares it. */
export function findField(key: string): Field | undefined {
  return OPTION_SCHEMAS.find((s) => Object.hasOwn(s, key))?.[key];
}
