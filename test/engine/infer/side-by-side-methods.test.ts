import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bitfitMethod } from '../../../src-main/engine/adapters/bitfit.js';
import { bottleneckMethod } from '../../../src-main/engine/adapters/bottleneck.js';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import { ia3Method } from '../../../src-main/engine/adapters/ia3.js';
import type { MethodAdapter } from '../../../src-main/engine/adapters/method.js';
import { generate, type Variant } from '../../../src-main/engine/infer/generate.js';
import { methodGreedy } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { randomAdapter } from './helpers.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-sbs-methods-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 11, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const prompt = [1, 17, 23, 5, 42, 9];
const run = async (variants: Variant[]) =>
  generate({ model, device: await resolveDevice('cpu'), tokenizer: null, prompt, variants, maxTokens: 16, sampling: { temperature: 0 }, stopAtEos: false });

/** The method's init moved deterministically away from the identity (as training would). */
function trained(m: MethodAdapter, seed: number): Map<string, Float32Array> {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return new Map([...m.init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/lora_B|adapter_up|bias$/.test(k) ? 0.3 * r() : x * (1 + 0.5 * r())))]));
}

// Acceptance 5: mixed methods in one batched decode equal each decoded alone (greedy ids identical).
it('base | LoRA | Houlsby | IA³ | DoRA | Pfeiffer | BitFit in one batch equal each decoded alone, and the adapter graph', async () => {
  const spec = model.spec;
  const methods = [
    bottleneckMethod(spec, { kind: 'houlsby', name: 'graft', reductionFactor: 4, nonLinearity: 'silu', scaling: 1 }),
    ia3Method(spec),
    doraMethod(spec, { r: 2, alpha: 4, rslora: false, targets: ['q', 'v', 'down'] }),
    bottleneckMethod(spec, { kind: 'pfeiffer', name: 'graft', reductionFactor: 4, nonLinearity: 'relu', scaling: 1 }),
    bitfitMethod(spec),
  ];
  const variants: Variant[] = [
    { adapters: [] },
    { adapters: [{ weights: randomAdapter(spec, 4, ['q', 'v', 'down'], 1), scale: 1 }] },
    ...methods.map((adapter, k) => ({ adapters: [], method: { adapter, tensors: trained(adapter, 10 + k) } })),
  ];
  const together = await run(variants);
  const alone = await Promise.all(variants.map(async (v) => (await run([v]))[0]));
  together.forEach((r, i) => expect(r.ids, `row ${i}`).toEqual(alone[i].ids));
  expect(new Set(together.map((r) => r.ids.join(','))).size).toBe(variants.length);
  // The KV-cache rows agree with the full-sequence adapter graph (verified against PEFT for DoRA/IA³).
  for (let k = 0; k < methods.length; k++) {
    const v = variants[k + 2].method!;
    expect(together[k + 2].ids.slice(0, 8)).toEqual((await methodGreedy(model, v.adapter, v.tensors, prompt, 8)).slice(prompt.length));
  }
}, 120_000);
