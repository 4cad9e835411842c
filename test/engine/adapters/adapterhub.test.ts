import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adapterHubConfig, ADAPTERHUB_PICKLE, ADAPTERHUB_WEIGHTS } from '../../../src-main/engine/adapters/adapterhub-import.js';
import { bottleneckMethod, type BottleneckConfig } from '../../../src-main/engine/adapters/bottleneck.js';
import { readMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { writeFileAtomicSync } from '../../../src-main/engine/io/atomic.js';
import { encodeSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-adapterhub-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'model'), TINY_LLAMA, { seed: 51, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21]];
function trained(c: BottleneckConfig): Map<string, Float32Array> {
  return new Map([...bottleneckMethod(model.spec, c).init(model.source, 3)].map(([k, v]) => [k, /adapter_up|bias$/.test(k) ? v.map((_, i) => 0.2 * Math.sin(i * 1.7 + k.length)) : v]));
}
/** A folder as AdapterHub's save_adapter(dir, name, use_safetensors=True) writes it. */
function saveAsAdapterHub(out: string, config: Record<string, unknown>, tensors: Map<string, Float32Array>, pickleOnly = false) {
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'adapter_config.json'), JSON.stringify(config, null, 2));
  if (pickleOnly) writeFileSync(path.join(out, ADAPTERHUB_PICKLE), Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]));
  else writeFileAtomicSync(path.join(out, ADAPTERHUB_WEIGHTS), encodeSafetensors(new Map([...tensors].map(([n, d]) => [n, { dtype: 'F32' as const, shape: n.endsWith('bias') ? [d.length] : n.includes('adapter_down') ? [d.length / model.spec.hidden, model.spec.hidden] : [model.spec.hidden, d.length / model.spec.hidden], data: d }]))));
}

it.each(['houlsby', 'pfeiffer', 'parallel'] as const)('an AdapterHub %s folder imports with its tensors and computes as Graft’s own adapter', async (kind) => {
  const cfg: BottleneckConfig = { kind, name: 'lang_en', reductionFactor: 4, nonLinearity: kind === 'houlsby' ? 'silu' : 'relu', scaling: kind === 'parallel' ? 4 : 1 };
  const t = trained(cfg);
  const out = path.join(dir, `hub-${kind}`);
  saveAsAdapterHub(out, adapterHubConfig(cfg, model.spec.hidden, 'LlamaForCausalLM'), t);
  const folder = readMethodFolder(out, model.spec);
  expect(folder.method.kind).toBe(kind);
  for (const [n, d] of t) expect(Buffer.from(folder.stored.get(n)!.raw).equals(Buffer.from(d.buffer, d.byteOffset, d.byteLength)), n).toBe(true);
  const own = await methodLogits(model, bottleneckMethod(model.spec, cfg), t, rows);
  expect(Array.from(await methodLogits(model, folder.method, folder.tensors, rows))).toEqual(Array.from(own));
});

it('a hand-written SeqBnConfig with AdapterHub defaults left out reads as Pfeiffer', () => {
  const cfg: BottleneckConfig = { kind: 'pfeiffer', name: 'task', reductionFactor: 8, nonLinearity: 'relu', scaling: 1 };
  const out = path.join(dir, 'hub-seqbn');
  saveAsAdapterHub(out, { config: { architecture: 'bottleneck', mh_adapter: false, output_adapter: true, reduction_factor: 8, non_linearity: 'relu', original_ln_before: true }, name: 'task', version: 'adapters.1.1.0' }, trained(cfg));
  expect(readMethodFolder(out, model.spec).method.kind).toBe('pfeiffer');
});

it('refuses a pickle .bin with the reason and the conversion, and settings Graft does not compute, naming the field', () => {
  const cfg: BottleneckConfig = { kind: 'houlsby', name: 'x', reductionFactor: 4, nonLinearity: 'silu', scaling: 1 };
  const pickled = path.join(dir, 'hub-pickle');
  saveAsAdapterHub(pickled, adapterHubConfig(cfg, model.spec.hidden, 'LlamaForCausalLM'), trained(cfg), true);
  expect(() => readMethodFolder(pickled, model.spec)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringMatching(/pickle.*arbitrary code.*use_safetensors=True.*save_file/) }));
  const gated = path.join(dir, 'hub-gated');
  const c = adapterHubConfig(cfg, model.spec.hidden, 'LlamaForCausalLM');
  saveAsAdapterHub(gated, { ...c, config: { ...(c.config as object), use_gating: true } }, trained(cfg));
  expect(() => readMethodFolder(gated, model.spec)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', where: 'config.use_gating' }));
  const normed = path.join(dir, 'hub-normed');
  saveAsAdapterHub(normed, { ...c, config: { ...(c.config as object), original_ln_after: false } }, trained(cfg));
  expect(() => readMethodFolder(normed, model.spec)).toThrow(expect.objectContaining({ where: 'config.original_ln_after' }));
});
