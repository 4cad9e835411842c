import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writePeftFiles } from '../adapters/compat.js';
import type { LoraConfig } from '../adapters/lora-config.js';
import type { MethodAdapter } from '../adapters/method.js';
import { writeMethodFolder } from '../adapters/method-folder.js';
import type { TrainMethod } from '../adapters/method-options.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import type { StepRecord } from './checkpoint.js';
import type { TensorMap } from './types.js';

export interface TrainingResultInfo {
  name: string;
  base: { id: string; arch: string; hash: string };
  dataset: { name: string; hash: string };
  method: TrainMethod;
  lora: LoraConfig;
  /** The trained method when it is not LoRA: its PEFT folder is written instead of LoRA's. */
  adapter?: MethodAdapter;
  hyperparameters: Record<string, unknown>;
  finalTrainLoss: number | null;
  finalEvalLoss: number | null;
  tokensSeen: number;
  steps: number;
  durationMs: number;
  device: string;
  history: StepRecord[];
}

/**
 * Writes the finished adapter: adapter_model.safetensors + adapter_config.json in PEFT's format (so PEFT's
 * PeftModel.from_pretrained loads it) and graft.json in the adapter library's format, each atomically and
 * graft.json last, so a folder with graft.json is a complete adapter.
 */
export async function writeTrainingResult(dir: string, lora: TensorMap, info: TrainingResultInfo): Promise<void> {
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of lora) tensors.set(name, t.data);
  const { r, alpha, rslora, targets } = info.lora;
  if (info.adapter)
    writeMethodFolder(dir, info.adapter, tensors, { config: { ...info.adapter.peftConfig(), base_model_name_or_path: info.base.id } });
  else await writePeftFiles(dir, { r, alpha, rslora, targets, tensors }, { baseModel: info.base.id });
  const lossCurve = info.history.map((h) => ({
    step: h.step,
    loss: h.loss,
    ...(h.evalLoss !== undefined ? { evalLoss: h.evalLoss } : {}),
  }));
  const metrics: Record<string, number> = { tokensSeen: info.tokensSeen, steps: info.steps, durationSec: info.durationMs / 1000 };
  if (info.finalTrainLoss !== null) metrics.finalTrainLoss = info.finalTrainLoss;
  if (info.finalEvalLoss !== null) metrics.finalEvalLoss = info.finalEvalLoss;
  writeJson(join(dir, 'graft.json'), {
    format: 1,
    id: adapterId(info.name),
    name: info.name,
    tags: [],
    notes: '',
    base: info.base,
    method: info.method,
    ...(info.adapter ? { methodConfig: info.adapter.peftConfig() } : {}),
    r: info.lora.r,
    alpha: info.lora.alpha,
    targets: info.lora.targets,
    rslora: info.lora.rslora,
    dataset: info.dataset,
    hyperparameters: { ...info.hyperparameters, dropout: info.lora.dropout },
    metrics,
    lossCurve,
    created: new Date().toISOString(),
    source: 'training',
    training: {
      device: info.device,
      durationMs: info.durationMs,
      tokensSeen: info.tokensSeen,
      finalTrainLoss: info.finalTrainLoss,
      finalEvalLoss: info.finalEvalLoss,
    },
  });
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomicSync(file, [Buffer.from(JSON.stringify(value, null, 2) + '\n')]);
}

function adapterId(name: string): string {
  const slug = name
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 40);
  return `${slug || 'adapter'}-${randomBytes(4).toString('hex')}`;
}
