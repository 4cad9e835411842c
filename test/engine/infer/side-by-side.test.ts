import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergedWeights } from '../../../src-main/engine/adapters/merge-weights.js';
import { generate, type Variant } from '../../../src-main/engine/infer/generate.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { randomAdapter } from './helpers.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-sbs-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 11, embedStd: 1, std: 0.3 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const prompt = [1, 17, 23, 5, 42, 9];
async function run(variants: Variant[], extra: Partial<Parameters<typeof generate>[0]> = {}) {
  return generate({ model, device: await resolveDevice('cpu'), tokenizer: null, prompt, variants, maxTokens: 24, sampling: { temperature: 0 }, stopAtEos: false, ...extra });
}

describe('batched side-by-side decoding', () => {
  it('base + two adapters + a scaled adapter in one batch equal decoding each alone (greedy)', async () => {
    const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 1);
    const b = randomAdapter(model.spec, 8, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], 2);
    const variants: Variant[] = [{ adapters: [] }, { adapters: [{ weights: a, scale: 1 }] }, { adapters: [{ weights: b, scale: 1 }] }, { adapters: [{ weights: a, scale: 0.5 }] }];
    const together = await run(variants);
    const alone = await Promise.all(variants.map(async (v) => (await run([v]))[0]));
    together.forEach((r, i) => expect(r.ids).toEqual(alone[i].ids));
    // the adapters really change the answer, so the equality above is not trivially about the base
    const distinct = new Set(together.map((r) => r.ids.join(",")));
    expect(distinct.size).toBe(4);
  });

  it('a merged adapter (W + s·B·A folded into the base) gives the same greedy output as the adapter', async () => {
    const a = randomAdapter(model.spec, 4, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], 5);
    const [withAdapter] = await run([{ adapters: [{ weights: a, scale: 1 }] }]);
    const [merged] = await run([{ adapters: [] }], { overrides: mergedWeights(model, a) });
    const [base] = await run([{ adapters: [] }]);
    expect(merged.ids).toEqual(withAdapter.ids);
    expect(merged.ids).not.toEqual(base.ids);
  });

  it('two adapters applied at once with weights equal their blend as one row', async () => {
    const a = randomAdapter(model.spec, 4, ['q', 'v'], 7);
    const b = randomAdapter(model.spec, 4, ['gate', 'up'], 8);
    const [both] = await run([{ adapters: [{ weights: a, scale: 0.7 }, { weights: b, scale: 0.3 }] }]);
    const merged = mergedWeights(model, a, 0.7);
    for (const [k, v] of mergedWeights(model, b, 0.3)) merged.set(k, v);
    const [folded] = await run([{ adapters: [] }], { overrides: merged });
    expect(both.ids).toEqual(folded.ids);
  });

  it('cancel stops within one step', async () => {
    const controller = new AbortController();
    let seen = 0;
    const [r] = await run([{ adapters: [] }], {
      signal: controller.signal,
      onToken: () => {
        seen++;
        controller.abort();
      },
    });
    expect(r.finish).toBe('cancelled');
    expect(r.ids.length).toBe(1);
    expect(seen).toBe(1);
  });

  it('a prompt longer than the context is an error, or truncated when asked', async () => {
    const long = Array.from({ length: 120 }, (_, i) => 3 + (i % 50));
    await expect(run([{ adapters: [] }], { prompt: long, maxTokens: 20 })).rejects.toThrow(/exceed the model's context of 128/);
    const [r] = await run([{ adapters: [] }], { prompt: long, maxTokens: 20, overflow: 'truncate' });
    expect(r.ids.length).toBe(20);
  });
});
