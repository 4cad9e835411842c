import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bottleneckMethod } from '../../../src-main/engine/adapters/bottleneck.js';
import { prefixMethod } from '../../../src-main/engine/adapters/prefix.js';
import { stackOf } from '../../../src-main/engine/adapters/stack.js';
import { generate, type Variant } from '../../../src-main/engine/infer/generate.js';
import { methodGreedy } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-prefix-decode-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 71, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const prompt = [1, 17, 23, 5, 42, 9, 30];
const run = async (variants: Variant[], maxTokens = 14) =>
  generate({ model, device: await resolveDevice('cpu'), tokenizer: null, prompt, variants, maxTokens, sampling: { temperature: 0 }, stopAtEos: false });

// Item 3 of the composition work: a prefix adapter generates through the KV-cache graphs, its P keys and
// values before the cache in every attention row, masked for the rows that do not use it.
it('a prefix adapter decodes with the KV cache exactly as the full-sequence graph, alone and beside base and Houlsby rows', async () => {
  const p = prefixMethod(model.spec, { virtualTokens: 3 });
  const pt = p.init(model.source, 5);
  const h = bottleneckMethod(model.spec, { kind: 'houlsby', name: 'graft', reductionFactor: 4, nonLinearity: 'silu', scaling: 1 });
  const ht = new Map([...h.init(model.source, 6)].map(([n, v]) => [n, n.includes('adapter_up') ? v.map((_, i) => 0.3 * Math.sin(i)) : v]));
  const want = (await methodGreedy(model, p, pt, prompt, 14)).slice(prompt.length);
  const alone = await run([{ adapters: [], method: { adapter: p, tensors: pt } }]);
  expect(alone[0].ids).toEqual(want);
  const variants: Variant[] = [{ adapters: [] }, { adapters: [], method: { adapter: p, tensors: pt } }, { adapters: [], method: { adapter: h, tensors: ht } }];
  const together = await run(variants);
  for (let k = 0; k < variants.length; k++) expect(together[k].ids, `row ${k}`).toEqual((await run([variants[k]]))[0].ids);
  expect(together[1].ids).toEqual(want);
  expect(together[0].ids).not.toEqual(want);
  // A prefix stacked under a Houlsby adapter decodes too.
  const s = stackOf(model.spec, [{ adapter: p, tensors: pt }, { adapter: h, tensors: ht }]);
  expect((await run([{ adapters: [], method: s }]))[0].ids).toEqual((await methodGreedy(model, s.adapter, s.tensors, prompt, 14)).slice(prompt.length));
});

it('two prefix adapters in one batch are refused with the reason', async () => {
  const p = prefixMethod(model.spec, { virtualTokens: 2 });
  const v = { adapters: [], method: { adapter: p, tensors: p.init(model.source, 1) } };
  await expect(run([v, v], 2)).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('one prefix adapter per batched decode') });
});
