/** AdapterFusion out to AdapterHub's saved layout and back (adapterhub-fusion.ts): same tensors, same logits; pickle and a static config refused. */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERHUB_FUSION_CONFIG, ADAPTERHUB_FUSION_PICKLE, ADAPTERHUB_FUSION_WEIGHTS } from '../../../src-main/engine/adapters/adapterhub-fusion.js';
import { bottleneckMethod, type BottleneckConfig } from '../../../src-main/engine/adapters/bottleneck.js';
import { fusionMethod } from '../../../src-main/engine/adapters/fusion.js';
import { exportMethod } from '../../../src-main/engine/adapters/method-export.js';
import { readMethodFolder, writeMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { maxAbsDiff, tmp } from './helpers.js';

let dir: string;
let model: LoadedModel;
let graftDir: string;
beforeAll(async () => {
  dir = tmp('hub-fusion');
  model = await loadModel(await writeRandomModel(path.join(dir, 'model'), TINY_LLAMA, { seed: 7, embedStd: 1, std: 0.3 }));
  // Two Pfeiffer adapters named alike, as Graft's runs are ("graft"), off their identity init, and a fusion moved off its own.
  const cfg: BottleneckConfig = { kind: 'pfeiffer', name: 'graft', reductionFactor: 8, nonLinearity: 'relu', scaling: 1 };
  let s = 5;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const parts = [1, 2].map((seed) => ({ config: cfg, tensors: new Map([...bottleneckMethod(model.spec, cfg).init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/adapter_up/.test(k) ? 0.3 * r() : x))])) }));
  const fusion = fusionMethod(model.spec, parts);
  graftDir = path.join(dir, 'graft-fusion');
  writeMethodFolder(graftDir, fusion, new Map([...fusion.init(model.source, 3)].map(([k, v]) => [k, v.map((x) => x + 0.05 * r())])));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21]];

describe("AdapterFusion in AdapterHub's layout", () => {
  it('exports as save_all_adapters lays it out and reads back to the same fusion (tensors and logits)', async () => {
    const out = path.join(dir, 'hub');
    const r = await exportMethod(model.source, readMethodFolder(graftDir, model.spec), { format: 'adapterhub', loraRank: null }, out);
    // the two adapters renamed apart (AdapterHub names are unique), the fusion named after them
    expect(readdirSync(out).sort()).toEqual(['graft_1', 'graft_2', 'graft_1,graft_2'].sort());
    expect(r.out).toBe(path.join(out, 'graft_1,graft_2'));
    const cfg = JSON.parse(readFileSync(path.join(r.out, ADAPTERHUB_FUSION_CONFIG), 'utf8'));
    expect(cfg).toMatchObject({ name: 'graft_1,graft_2', config: { query: true, key: true, value: true, value_before_softmax: true } });
    const graft = readMethodFolder(graftDir, model.spec);
    const hub = readMethodFolder(r.out, model.spec);
    expect(hub.method.kind).toBe('fusion');
    expect(hub.method.params.every((p) => p.name.includes('.adapter_fusion_layer.graft_1,graft_2.'))).toBe(true);
    expect([...hub.tensors.values()]).toEqual([...graft.tensors.values()]);
    const [a, b] = await Promise.all([methodLogits(model, graft.method, graft.tensors, rows), methodLogits(model, hub.method, hub.tensors, rows)]);
    // the same arithmetic on the same values: equal up to float reassociation in the graph
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-6);
  });

  it('refuses the pickle weights and a fusion config Graft does not compute, naming the file and field', async () => {
    const out = path.join(dir, 'hub2');
    const { out: fusionDir } = await exportMethod(model.source, readMethodFolder(graftDir, model.spec), { format: 'adapterhub', loraRank: null }, out);
    const cfgFile = path.join(fusionDir, ADAPTERHUB_FUSION_CONFIG);
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, config: { ...cfg.config, value: false } }));
    expect(() => readMethodFolder(fusionDir, model.spec)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', where: 'config.value' }));
    writeFileSync(cfgFile, JSON.stringify(cfg));
    renameSync(path.join(fusionDir, ADAPTERHUB_FUSION_WEIGHTS), path.join(fusionDir, ADAPTERHUB_FUSION_PICKLE));
    expect(() => readMethodFolder(fusionDir, model.spec)).toThrow(/pickle file, which Graft does not open/);
    rmSync(path.join(out, 'graft_2'), { recursive: true });
    expect(existsSync(path.join(out, 'graft_2'))).toBe(false);
    expect(() => readMethodFolder(fusionDir, model.spec)).toThrow(/the fused adapter "graft_2" is neither beside the fusion folder nor inside it/);
  });
});
