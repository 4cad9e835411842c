/** `graft export-method`: a DoRA/IA³/bottleneck/BitFit/fusion adapter out as a merged model, a LoRA, a GGUF LoRA or AdapterHub's layout. */
import { resolve } from 'node:path';
import { readMethodFolder } from '../../engine/adapters/method-folder.js';
import { exportMethod } from '../../engine/adapters/method-export.js';
import { loadModel } from '../../engine/model.js';
import { EXPORT_METHOD_OPTIONS } from '../../engine/options/export-method.js';
import { validateOptions } from '../../engine/options/schema.js';
import type { CommandRegistrar } from './index.js';
import { addSchemaFlags, inputFromFlags } from './schema-flags.js';

export const registerExportMethod: CommandRegistrar = (program) => {
  const cmd = program
    .command('export-method')
    .description('export a non-LoRA adapter (DoRA, IA³, BitFit, bottleneck, fusion): merged model, LoRA or GGUF LoRA by SVD, AdapterHub layout')
    .requiredOption('--model <path>', 'the base model the adapter was trained on')
    .requiredOption('--adapter <dir>', 'the adapter folder')
    .requiredOption('--out <path>', 'output folder (a .gguf file for gguf-lora)');
  addSchemaFlags(cmd, EXPORT_METHOD_OPTIONS).action(async (flags: { model: string; adapter: string; out: string }) => {
    const o = validateOptions(EXPORT_METHOD_OPTIONS, await inputFromFlags(EXPORT_METHOD_OPTIONS, flags));
    const model = await loadModel(flags.model);
    try {
      const r = await exportMethod(model.source, readMethodFolder(flags.adapter, model.spec), o, resolve(flags.out));
      const fit = r.relativeError === undefined ? '' : `, LoRA rank ${o.loraRank} by SVD: reconstruction error ${(100 * r.relativeError).toFixed(2)}% (worst ${r.worst?.tensor}: ${(100 * (r.worst?.relativeError ?? 0)).toFixed(2)}%)`;
      console.log(`wrote ${r.out} (${o.format}${fit})`);
    } finally {
      model.source.close();
    }
  });
};
