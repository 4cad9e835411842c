/**
 * How a dataset file is read and what the loss is taken on: `graft dataset inspect` and `graft train` take
 * these flags, the Datasets screen stores the first ones with each dataset, the Train form the last two.
 */
import { DATASET_FORMATS, LOSS_ON, TEXT_SPLITS, type ColumnMapping } from '../data/types.js';
import type { OptionsOf, Schema } from './schema.js';

const SOURCE = 'Dataset';

/** How the file is read: format, CSV columns, the cutting of .txt files. */
export const DATA_SOURCE_OPTIONS = {
  format: { kind: 'enum', choices: ['auto', ...DATASET_FORMATS], default: 'auto', label: 'Format', group: SOURCE, help: 'the file format (auto: from the extension and the first record)' },
  textColumn: { kind: 'text', default: '', label: 'Text column', group: SOURCE, help: 'CSV/TSV: the column holding plain text' },
  promptColumn: { kind: 'text', default: '', label: 'Prompt column', group: SOURCE, help: 'CSV/TSV: the column holding the prompt' },
  responseColumn: { kind: 'text', default: '', label: 'Response column', group: SOURCE, help: 'CSV/TSV: the column holding the response' },
  systemColumn: { kind: 'text', default: '', label: 'System column', group: SOURCE, help: 'CSV/TSV: an optional system-prompt column' },
  textSplit: { kind: 'enum', choices: TEXT_SPLITS, default: 'blank-line', label: 'Split text into', group: SOURCE, help: '.txt files: one example per paragraph, per line, or the whole file' },
} as const satisfies Schema;
export type DataSourceOptions = OptionsOf<typeof DATA_SOURCE_OPTIONS>;

/** How examples are rendered into tokens for training. */
export const RENDER_OPTIONS = {
  lossOn: {
    kind: 'enum',
    choices: LOSS_ON,
    default: 'assistant',
    label: 'Train on',
    group: 'Data and evaluation',
    help: 'chats: train on assistant replies only, or all tokens',
    choiceLabels: { assistant: 'assistant replies only', all: 'all tokens' },
  },
  chatTemplate: {
    kind: 'text',
    default: '',
    cliFile: true,
    multiline: true,
    label: "Chat template (Jinja; empty: the model's own)",
    group: 'Data and evaluation',
    help: "a Jinja chat template to use instead of the model's (the CLI takes a file)",
  },
} as const satisfies Schema;

/** `graft dataset inspect`: the source, the rendering, and where truncation is counted. */
export const INSPECT_OPTIONS = {
  ...DATA_SOURCE_OPTIONS,
  ...RENDER_OPTIONS,
  seqLen: { kind: 'int', default: null, nullable: true, min: 1, label: 'Sequence length', group: 'Tokens', help: 'sequence length to count truncation at' },
} as const satisfies Schema;
export type InspectOptions = OptionsOf<typeof INSPECT_OPTIONS>;

/** The CSV column mapping the reader takes; undefined to recognise the columns from the header. */
export function columnsOf(o: Pick<DataSourceOptions, 'textColumn' | 'promptColumn' | 'responseColumn' | 'systemColumn'>): ColumnMapping | undefined {
  const c: ColumnMapping = {};
  if (o.textColumn) c.text = o.textColumn;
  if (o.promptColumn) c.prompt = o.promptColumn;
  if (o.responseColumn) c.response = o.responseColumn;
  if (o.systemColumn) c.system = o.systemColumn;
  return Object.keys(c).length ? c : undefined;
}
