/** `graft compare`: one prompt answered by base and/or adapters in one batched decode, side by side. */
import { generate, type Variant } from '../../engine/infer/generate.js';
import { loadModel } from '../../engine/model.js';
import { resolveDevice } from '../../engine/runtime/device.js';
import { GraftError } from '../../engine/errors.js';
import { collect, variantForArg } from './adapter-arg.js';
import { addGenerationFlags, generationFlags, type GenerationFlags, promptIds, samplingOf } from './engine.js';
import type { CommandRegistrar } from './index.js';
import { COMPOSE_OPTIONS } from '../../engine/options/compose.js';
import { validateOptions } from '../../engine/options/schema.js';
import { addSchemaFlags, inputFromFlags } from './schema-flags.js';

/** Lays texts out in columns of equal width, wrapping words. */
export function columns(headers: string[], texts: string[], width: number): string {
  const w = Math.max(16, Math.floor((width - 3 * (texts.length - 1)) / texts.length));
  const wrap = (t: string) => {
    const out: string[] = [];
    for (const para of t.split('\n')) {
      let line = '';
      for (const word of para.split(/(\s+)/)) {
        if ((line + word).length > w && line.trim()) {
          out.push(line.trimEnd());
          line = word.trimStart();
        } else line += word;
        while (line.length > w) {
          out.push(line.slice(0, w));
          line = line.slice(w);
        }
      }
      out.push(line.trimEnd());
    }
    return out;
  };
  const cols = texts.map((t, i) => [headers[i].slice(0, w), '─'.repeat(Math.min(w, Math.max(headers[i].length, 8))), ...wrap(t)]);
  const rows = Math.max(...cols.map((c) => c.length));
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) lines.push(cols.map((c) => (c[r] ?? '').padEnd(w)).join(' │ ').trimEnd());
  return lines.join('\n');
}

export const registerCompare: CommandRegistrar = (program) => {
  addSchemaFlags(addGenerationFlags(program.command('compare').description('answer one prompt with several variants side by side (one batched decode)')), COMPOSE_OPTIONS)
    .option('--adapter <ref[:scale]>', 'an adapter variant (folder or library name); repeat for more columns; A+B composes two in one column (--compose)', collect)
    .option('--base', 'include the base model as a column')
    .option('--library <dir>', 'adapter library for names given to --adapter')
    .option('--json', 'print the variants as JSON')
    .action(async (flags: GenerationFlags & { json?: boolean; library?: string }) => {
      const f = await generationFlags(flags);
      const n = (f.base ? 1 : 0) + (f.adapter ?? []).length;
      if (n === 0) throw new GraftError('BAD_INPUT', 'nothing to compare: give --base and/or --adapter', { where: '--adapter' });
      if (n > 4) throw new GraftError('BAD_INPUT', `at most 4 variants side by side, got ${n}`, { where: '--adapter' });
      const model = await loadModel(f.model);
      // LoRA columns and the other methods (DoRA, IA³, bottlenecks, BitFit) mix in one batched decode.
      const compose = validateOptions(COMPOSE_OPTIONS, await inputFromFlags(COMPOSE_OPTIONS, flags));
      const picked = await Promise.all((f.adapter ?? []).map((a) => variantForArg(model, a, compose, f.library)));
      for (const note of picked.flatMap((p) => p.notes)) console.error(`graft: ${note}`);
      const labels = [...(f.base ? ['base'] : []), ...picked.map((c) => c.label)];
      const variants: Variant[] = [...(f.base ? [{ adapters: [] }] : []), ...picked.map(({ label: _l, notes: _n, ...v }) => v)];
      const { tokenizer, ids, endOfTurn } = await promptIds(model, f);
      const results = await generate({ model, device: await resolveDevice(f.device), tokenizer, prompt: ids, variants, maxTokens: f.maxTokens, sampling: samplingOf(f), stop: f.stop, endOfTurn, overflow: f.contextOverflow, precision: f.precision });
      if (f.json) {
        console.log(JSON.stringify(results.map((r, i) => ({ variant: labels[i], text: r.text, ids: r.ids, finish: r.finish }))));
        return;
      }
      console.log(columns(labels, results.map((r) => r.text), process.stdout.columns ?? 120));
    });
};
