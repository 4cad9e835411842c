/**
 * Issue 19/20 on the GPU machine, where only the bundled engine runs (esbuild → .gpu/graft-job.cjs by
 * job-bundle-prepare.sh; Node from .gpu/prelude.sh):
 *   node .gpu/graft-job.cjs qwen-bundle DIR TOK DATA   a Qwen2.5-0.5B-shaped random model (bf16) + the name task's
 *                                                  bundle for it (batch 2 × accumulation 2: 2 processes share a step)
 *   node .gpu/graft-job.cjs import ADAPTER BASE LIB   Graft's library import with the compatibility check
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJobBundle } from '../../src-main/engine/job/export-bundle.js';
import { parseTrainOptions } from '../../src-main/engine/options/train.js';
import { QWEN25_05B_SHAPES, writeRandomModel } from '../../src-main/engine/models/random-model.js';
import { importChecked } from '../../src-main/store/adapter-ops.js';
import { AdapterLibrary } from '../../src-main/store/library.js';

async function qwenBundle(dir: string, tokenizerDir: string, data: string): Promise<void> {
  const model = path.join(dir, 'qwen2.5-0.5b-shape');
  await writeRandomModel(model, QWEN25_05B_SHAPES, { seed: 1, dtype: 'BF16' });
  // Any tokenizer whose ids fit the vocabulary will do for a random model: SmolLM2's (49,152 < 151,936).
  copyFileSync(path.join(tokenizerDir, 'tokenizer.json'), path.join(model, 'tokenizer.json'));
  const m = await exportJobBundle(
    {
      model,
      data,
      out: path.join(dir, 'qwen-bundle'),
      options: parseTrainOptions({ rank: 16, alpha: 32, lr: 1e-3, steps: 30, batch: 2, gradAccum: 2, seqLen: 128, warmup: 3, schedule: 'cosine', valSplit: 0.1, evalEvery: 15, maxGradNorm: 1, seed: 0, device: 'cpu' }),
    },
    path.join(dir, 'qwen-bundle'),
    { name: 'zara-qwen-shape' },
  );
  console.log(JSON.stringify({ bundle: path.join(dir, 'qwen-bundle'), id: m.id, base: m.base, steps: m.settings.train.total_steps }));
}

async function main(): Promise<void> {
  const [what, a, b, c] = process.argv.slice(2);
  if (what === 'qwen-bundle') return qwenBundle(a, b, c);
  if (what === 'import') {
    const e = await importChecked(await AdapterLibrary.open(c), a, { basePath: b, onWarning: (w) => console.error(`warning: ${w}`) });
    writeFileSync(path.join(c, 'imported.json'), JSON.stringify(e.meta, null, 1));
    console.log(JSON.stringify({ imported: e.meta.name, remote: e.meta.remote ?? null, r: e.meta.r, loss: e.meta.lossCurve.at(-1) ?? null }));
    return;
  }
  throw new Error(`unknown: ${what} (qwen-bundle DIR TOKENIZER_DIR DATA | import ADAPTER BASE LIBRARY)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
