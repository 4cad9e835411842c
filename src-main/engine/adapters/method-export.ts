/**
 * Non-LoRA adapters out of Graft (the options: engine/options/export-method.ts):
 * - merged: the base with the adapter's exact merge (DoRA, IA³, BitFit where the base has the biases);
 * - lora / gguf-lora: a LoRA fitted by SVD (method-to-lora.ts), as PEFT files or llama.cpp's GGUF LoRA, with
 *   the reconstruction error returned; llama.cpp runs LoRA adapters only, so every other method is refused
 *   for GGUF with the reason and what to export instead;
 * - adapterhub: a bottleneck adapter in AdapterHub's saved layout (adapterhub-import.ts names its fields).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import type { WeightSource } from '../io/model-source.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { writeAdapterHubFusion } from './adapterhub-fusion.js';
import { ADAPTERHUB_WEIGHTS, adapterHubConfig, bottleneckFromAdapterHub, isAdapterHubConfig } from './adapterhub-import.js';
import { writePeftFiles } from './compat.js';
import { exportGgufLora } from './gguf-lora.js';
import { exportModelWithOverrides } from './merge.js';
import { bottleneckConfigOf, CONFIG_FILE, type MethodFolder } from './method-folder.js';
import { methodToLora } from './method-to-lora.js';

/** Why llama.cpp cannot run a method (it applies LoRA adapters and control vectors only). */
const NOT_IN_LLAMACPP: Record<string, string> = {
  houlsby: 'adds bottleneck blocks to every layer, which llama.cpp has no place for',
  pfeiffer: 'adds a bottleneck block to every layer, which llama.cpp has no place for',
  parallel: 'adds a bottleneck beside every MLP, which llama.cpp has no place for',
  prefix: 'puts trained keys and values before every layer’s attention, which llama.cpp cannot load',
  fusion: 'mixes several bottleneck adapters per token, which llama.cpp has no place for',
  bitfit: 'changes biases, which a llama.cpp LoRA cannot hold (export --format merged instead)',
};

export interface MethodExportResult {
  out: string;
  /** For lora / gguf-lora: ‖ΔW − B·A‖ / ‖ΔW‖ overall and the worst weight. */
  relativeError?: number;
  worst?: { tensor: string; relativeError: number };
}

/** How a method adapter leaves Graft: the export-method options (declared in options/export-method.ts). */
export interface ExportMethodSettings {
  format: 'merged' | 'lora' | 'gguf-lora' | 'adapterhub';
  loraRank: number | null;
}

export async function exportMethod(source: WeightSource, folder: MethodFolder, o: ExportMethodSettings, out: string): Promise<MethodExportResult> {
  const { method, tensors } = folder;
  switch (o.format) {
    case 'merged': {
      const merged = method.merge(source, tensors);
      if ('refused' in merged) throw new GraftError('UNSUPPORTED', `merged cannot take a ${method.kind} adapter: ${merged.refused}`, { field: 'format' });
      await exportModelWithOverrides(source, merged, out);
      return { out };
    }
    case 'lora':
    case 'gguf-lora': {
      if (o.format === 'gguf-lora' && NOT_IN_LLAMACPP[method.kind])
        throw new GraftError('UNSUPPORTED', `gguf-lora cannot take a ${method.kind} adapter: llama.cpp runs LoRA adapters only, and this one ${NOT_IN_LLAMACPP[method.kind]}`, { field: 'format' });
      if (!o.loraRank) throw new GraftError('BAD_INPUT', `is required: a ${method.kind} adapter becomes a LoRA by an SVD fit of that rank`, { field: 'loraRank' });
      const fit = methodToLora(source, method, tensors, o.loraRank);
      if (o.format === 'lora') {
        await writePeftFiles(out, fit.weights);
        return { out, relativeError: fit.relativeError, worst: fit.worst };
      }
      const tmp = mkdtempSync(join(tmpdir(), 'graft-method-lora-'));
      try {
        await writePeftFiles(tmp, fit.weights);
        await exportGgufLora(tmp, source.config, out);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return { out, relativeError: fit.relativeError, worst: fit.worst };
    }
    case 'adapterhub': {
      const arch = source.config.architectures?.[0] ?? 'LlamaForCausalLM';
      // a fusion: its adapters and itself as AdapterHub's save_all_adapters lays them out (adapterhub-fusion.ts)
      if (method.kind === 'fusion') return { out: writeAdapterHubFusion(out, folder, arch).fusionDir };
      if (!['houlsby', 'pfeiffer', 'parallel'].includes(method.kind))
        throw new GraftError('UNSUPPORTED', `adapterhub cannot take a ${method.kind} adapter: AdapterHub's layout is written for bottleneck adapters and their fusions`, { field: 'format' });
      const cfg = isAdapterHubConfig(folder.rawConfig) ? bottleneckFromAdapterHub(folder.rawConfig, out) : bottleneckConfigOf(folder.rawConfig, out);
      mkdirSync(out, { recursive: true });
      const weights = new Map(method.params.map((p) => {
        const s = folder.stored.get(p.name);
        return [p.name, s ? { dtype: s.dtype, shape: s.shape, data: s.raw } : { dtype: 'F32' as const, shape: p.shape, data: tensors.get(p.name)! }];
      }));
      writeFileAtomicSync(join(out, ADAPTERHUB_WEIGHTS), encodeSafetensors(weights, { format: 'pt' }));
      writeFileAtomicSync(join(out, CONFIG_FILE), [Buffer.from(JSON.stringify(adapterHubConfig(cfg, method.spec.hidden, arch), null, 2) + '\n')]);
      return { out };
    }
  }
}
