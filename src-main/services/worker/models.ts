/**
 * The engine worker's methods for the Models screen: reading what a model is from its files (config, tensor
 * names and dtypes, tokenizer), without loading its weights.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { targetsFor } from '../../engine/adapters/lora.js';
import type { LoraTarget } from '../../engine/adapters/lora-config.js';
import { openModelSource, type WeightSource } from '../../engine/io/model-source.js';
import { specFromConfig } from '../../engine/models/index.js';
import { presetValues } from '../../engine/options/train-presets.js';
import { estimateForSource, paramCount } from '../../engine/train/memory-estimate.js';
import type { ModelInfo } from '../../ipc/models';

/** Merged into the worker protocol's WorkerMethods. */
export interface ModelWorkerMethods {
  'models.inspect': { params: { path: string }; result: ModelInfo };
}

/** The targets as this model names its projections (q/k/v → qkv on Phi-3), as a run adapts them; as given for a model no family knows. */
export function modelTargets(s: WeightSource, targets: readonly LoraTarget[]): LoraTarget[] {
  try {
    return targetsFor(specFromConfig(s.config, s.path), targets);
  } catch {
    return [...targets];
  }
}

async function sizeOnDisk(p: string): Promise<number> {
  const st = await fsp.stat(p);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fsp.readdir(p, { withFileTypes: true })) if (e.isFile()) total += (await fsp.stat(path.join(p, e.name))).size;
  return total;
}

async function inspectModel(p: string): Promise<ModelInfo> {
  const s = await openModelSource(p);
  try {
    const c = s.config;
    const proj = s.names().find((n) => /self_attn\.(q|qkv)_proj\.weight$/.test(n));
    const tok = await s.tokenizer().catch(() => null);
    const b = presetValues('balanced');
    const balanced = { lora: { r: b.rank, targets: modelTargets(s, b.targets) }, batch: b.batch, seqLen: b.seqLen };
    return {
      format: s.format,
      architecture: c.architectures?.[0] ?? c.model_type ?? 'unknown',
      modelType: c.model_type ?? null,
      params: paramCount(s),
      contextLength: c.max_position_embeddings ?? null,
      layers: c.num_hidden_layers,
      hiddenSize: c.hidden_size,
      vocabSize: c.vocab_size,
      dtype: proj ? s.dtype(proj) : (c.torch_dtype ?? c.dtype ?? 'unknown'),
      sizeBytes: await sizeOnDisk(p),
      hasTokenizer: tok !== null,
      memory: (['lora', 'qlora'] as const).map((method) => ({ method, estimate: estimateForSource(s, { method, ...balanced }) })),
    };
  } finally {
    s.close();
  }
}

export function modelMethods(): { [M in keyof ModelWorkerMethods]: (p: ModelWorkerMethods[M]['params']) => Promise<ModelWorkerMethods[M]['result']> } {
  return {
    'models.inspect': ({ path: p }) => inspectModel(p),
  };
}
