import { inspectDataset } from '../../engine/data/inspect';
import { previewDataset } from '../../engine/data/preview';
import { GraftError } from '../../engine/errors';
import { columnsOf, INSPECT_OPTIONS } from '../../engine/options/dataset';
import { validateOptions } from '../../engine/options/schema';
import { loadTokenizer } from '../../engine/tokenize/load';
import { formatSummary } from './dataset-summary';
import type { CommandRegistrar } from './index';
import { intFlag } from './parse-flags';
import { addSchemaFlags, inputFromFlags } from './schema-flags';

async function inspect(file: string, flags: { model?: string; json?: boolean; preview?: number } & Record<string, unknown>): Promise<void> {
  const o = validateOptions(INSPECT_OPTIONS, await inputFromFlags(INSPECT_OPTIONS, flags));
  const tokenizer = flags.model ? await loadTokenizer(flags.model) : undefined;
  if (flags.model && !tokenizer)
    throw new GraftError('NOT_FOUND', `${flags.model}: no tokenizer found in the model`, { file: flags.model });
  const opts = {
    format: o.format,
    columns: columnsOf(o),
    textSplit: o.textSplit,
    lossOn: o.lossOn,
    chatTemplate: o.chatTemplate || undefined,
    tokenizer: tokenizer ?? undefined,
    seqLen: o.seqLen ?? undefined,
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
  addSchemaFlags(dataset.command('inspect <file>'), INSPECT_OPTIONS)
    .description('validate a dataset: bad rows with line numbers, kept/dropped, token lengths and truncation')
    .option('--model <path>', 'model folder or .gguf whose tokenizer counts tokens')
    .option('--preview <n>', 'show the first N rendered examples (needs --model)', intFlag('--preview', 0))
    .option('--json', 'print one JSON object')
    .action(inspect);
};
