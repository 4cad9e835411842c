/**
 * The engine worker's methods for the Datasets screen: validation, statistics and a preview rendered with a
 * model's tokenizer and chat template.
 */
import { inspectDataset } from '../../engine/data/inspect.js';
import { previewDataset } from '../../engine/data/preview.js';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../../engine/data/types.js';
import { GraftError } from '../../engine/errors.js';
import { openModelSource } from '../../engine/io/model-source.js';
import { specFromConfig } from '../../engine/models/index.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { textEndToken } from '../../engine/train/end-token.js';
import type { DatasetReport } from '../../ipc/datasets';

/** Merged into the worker protocol's WorkerMethods. */
export interface DatasetWorkerMethods {
  'datasets.inspect': {
    params: { path: string; format: DatasetFormat | 'auto'; textSplit: TextSplit; columns?: ColumnMapping; modelPath?: string; seqLen?: number; count?: number };
    result: Omit<DatasetReport, 'modelId'>;
  };
}

/**
 * Tokenizers are slow to build and every preview needs one: keep the last few, with the token that ends
 * plain-text rows for that model (what training will append, so the preview shows the same).
 */
const tokenizers = new Map<string, Promise<{ tokenizer: TextTokenizer; textEndId: number | null } | null>>();
function tokenizerOf(modelPath: string): Promise<{ tokenizer: TextTokenizer; textEndId: number | null } | null> {
  let t = tokenizers.get(modelPath);
  if (!t) {
    t = openModelSource(modelPath).then(async (s) => {
      try {
        const tokenizer = await s.tokenizer();
        return tokenizer && { tokenizer, textEndId: textEndToken(s, specFromConfig(s.config, s.path), tokenizer).id };
      } finally {
        s.close();
      }
    });
    t.catch(() => tokenizers.delete(modelPath));
    if (tokenizers.size >= 4) tokenizers.delete(tokenizers.keys().next().value!);
    tokenizers.set(modelPath, t);
  }
  return t;
}

export function datasetMethods(): { [M in keyof DatasetWorkerMethods]: (p: DatasetWorkerMethods[M]['params']) => Promise<DatasetWorkerMethods[M]['result']> } {
  return {
    'datasets.inspect': async (p) => {
      const tok = p.modelPath ? await tokenizerOf(p.modelPath) : null;
      if (p.modelPath && !tok) throw new GraftError('NOT_FOUND', `${p.modelPath}: the model carries no tokenizer`, { file: p.modelPath });
      const tokenizer = tok?.tokenizer;
      const opts = { format: p.format, textSplit: p.textSplit, columns: p.columns, seqLen: p.seqLen, tokenizer, textEndId: tok?.textEndId, maxIssues: 200 };
      const summary = await inspectDataset(p.path, opts);
      const preview = tokenizer ? await previewDataset(p.path, tokenizer, { ...opts, count: p.count ?? 5 }) : [];
      return { summary, preview };
    },
  };
}
