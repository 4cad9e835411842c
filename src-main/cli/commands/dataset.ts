import type { Command } from 'commander';
import { formatSummary, inspectDataset } from '../../engine/data/inspect';
import { previewDataset } from '../../engine/data/preview';
import { DATASET_FORMATS, type ColumnMapping, type TextSplit } from '../../engine/data/types';
import { GraftError } from '../../engine/errors';
import { loadTokenizer } from '../../engine/tokenize/load';
import type { CommandRegistrar } from './index';
import { choiceFlag, intFlag } from './parse-flags';

export interface DataFlags {
  format: (typeof DATASET_FORMATS)[number] | 'auto';
  textColumn?: string;
  promptColumn?: string;
  responseColumn?: string;
  systemColumn?: string;
  textSplit: TextSplit;
  lossOn: 'assistant' | 'all';
  chatTemplate?: string;
}

/** The dataset flags `dataset inspect` and `train` share. */
export function addDataFlags(cmd: Command): Command {
  return cmd
    .option(
      '--format <format>',
      `auto | ${DATASET_FORMATS.join(' | ')}`,
      choiceFlag('--format', ['auto', ...DATASET_FORMATS] as const),
      'auto',
    )
    .option('--text-column <name>', 'CSV/TSV: the column holding plain text')
    .option('--prompt-column <name>', 'CSV/TSV: the column holding the prompt')
    .option('--response-column <name>', 'CSV/TSV: the column holding the response')
    .option('--system-column <name>', 'CSV/TSV: an optional system-prompt column')
    .option(
      '--text-split <how>',
      '.txt files: blank-line | line | whole',
      choiceFlag('--text-split', ['blank-line', 'line', 'whole'] as const),
      'blank-line',
    )
    .option(
      '--loss-on <which>',
      'chats: train on assistant replies only, or all tokens',
      choiceFlag('--loss-on', ['assistant', 'all'] as const),
      'assistant',
    )
    .option('--chat-template <file>', "a Jinja chat template to use instead of the model's");
}

export function columnsOf(f: DataFlags): ColumnMapping | undefined {
  const c: ColumnMapping = {};
  if (f.textColumn) c.text = f.textColumn;
  if (f.promptColumn) c.prompt = f.promptColumn;
  if (f.responseColumn) c.response = f.responseColumn;
  if (f.systemColumn) c.system = f.systemColumn;
  return Object.keys(c).length ? c : undefined;
}

export async function readTemplate(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined;
  const { readFile } = await import('node:fs/promises');
  return readFile(file, 'utf8').catch((err) => {
    throw new GraftError('NOT_FOUND', `--chat-template ${file}: cannot read it`, { file, cause: err });
  });
}

async function inspect(
  file: string,
  flags: DataFlags & { model?: string; seqLen?: number; json?: boolean; preview?: number },
): Promise<void> {
  const tokenizer = flags.model ? await loadTokenizer(flags.model) : undefined;
  if (flags.model && !tokenizer)
    throw new GraftError('NOT_FOUND', `${flags.model}: no tokenizer found in the model`, { file: flags.model });
  const opts = {
    format: flags.format,
    columns: columnsOf(flags),
    textSplit: flags.textSplit,
    lossOn: flags.lossOn,
    chatTemplate: await readTemplate(flags.chatTemplate),
    tokenizer: tokenizer ?? undefined,
    seqLen: flags.seqLen,
  };
  const summary = await inspectDataset(file, opts);
  const preview = tokenizer && flags.preview ? await previewDataset(file, tokenizer, { ...opts, count: flags.preview }) : [];
  if (flags.json) {
    process.stdout.write(JSON.stringify({ ...summary, preview }) + '\n');
  } else {
    for (const line of formatSummary(summary)) console.log(line);
    if (!tokenizer) console.log('(pass --model to see token counts, the length histogram and truncation)');
    for (const p of preview) {
      console.log(
        `\n--- line ${p.line}: ${p.tokens} tokens, ${p.trainedTokens} trained${p.truncatedFrom ? ` (truncated from ${p.truncatedFrom})` : ''}; trained text in [[ ]]`,
      );
      console.log(p.segments.map((s) => (s.trained ? `[[${s.text}]]` : s.text)).join(''));
    }
  }
  if (summary.kept === 0) process.exitCode = 1;
}

export const registerDataset: CommandRegistrar = (program) => {
  const dataset = program.command('dataset').description('look at training data before training');
  addDataFlags(dataset.command('inspect <file>'))
    .description('validate a dataset: bad rows with line numbers, kept/dropped, token lengths and truncation')
    .option('--model <path>', 'model folder or .gguf whose tokenizer counts tokens')
    .option('--seq-len <n>', 'sequence length to count truncation at', intFlag('--seq-len', 1))
    .option('--preview <n>', 'show the first N rendered examples (needs --model)', intFlag('--preview', 0))
    .option('--json', 'print one JSON object')
    .action(inspect);
};
