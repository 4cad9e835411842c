import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bottleneckMethod } from '../../../src-main/engine/adapters/bottleneck.js';
import { readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import { doraMethod } from '../../../src-main/engine/adapters/dora.js';
import type { MethodAdapter } from '../../../src-main/engine/adapters/method.js';
import { exportMethod } from '../../../src-main/engine/adapters/method-export.js';
import { readMethodFolder, writeMethodFolder } from '../../../src-main/engine/adapters/method-folder.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { methodLogits } from '../../../src-main/engine/infer/method-logits.js';
import { readGgufLora } from '../../../src-main/engine/io/gguf-lora.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-method-export-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'model'), TINY_LLAMA, { seed: 61, embedStd: 1, std: 0.3 }));
});
afterAll(() => {
  model.source.close();
  rmSync(dir, { recursive: true, force: true });
});

const rows = [[1, 5, 9, 13, 17, 21]];
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
function folderOf(name: string, m: MethodAdapter) {
  let s = 7;
  const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const t = new Map([...m.init(model.source, 3)].map(([k, v]) => [k, v.map((x) => (/lora_B|adapter_up|bias$/.test(k) ? 0.2 * r() : x * (1 + 0.3 * r())))]));
  writeMethodFolder(path.join(dir, name), m, t);
  return readMethodFolder(path.join(dir, name), model.spec);
}
const opts = (format: 'merged' | 'lora' | 'gguf-lora' | 'adapterhub', loraRank: number | null = null) => ({ format, loraRank });

it('DoRA exports as an exact merged model, as a LoRA by SVD (exact at full rank) and as a GGUF LoRA', async () => {
  const folder = folderOf('dora', doraMethod(model.spec, { r: 2, alpha: 4, rslora: false, targets: ['q', 'v', 'down'] }));
  const want = await methodLogits(model, folder.method, folder.tensors, rows);
  await exportMethod(model.source, folder, opts('merged'), path.join(dir, 'merged'));
  const merged = await loadModel(path.join(dir, 'merged'));
  try {
    expect(maxDiff(await computeLogits(merged, rows), want)).toBeLessThanOrEqual(1e-4);
  } finally {
    merged.source.close();
  }
  const lora = await exportMethod(model.source, folder, opts('lora', 32), path.join(dir, 'lora'));
  expect(lora.relativeError).toBeLessThan(1e-5);
  expect(maxDiff(await computeLogits(model, rows, { adapters: [{ weights: readAdapterWeights(path.join(dir, 'lora')) }] }), want)).toBeLessThanOrEqual(1e-4);
  const gguf = await exportMethod(model.source, folder, opts('gguf-lora', 4), path.join(dir, 'dora.gguf'));
  expect(gguf.relativeError).toBeGreaterThan(0);
  expect(readGgufLora(path.join(dir, 'dora.gguf'), model.source.config).config.r).toBe(4);
});

it('refuses GGUF for what llama.cpp cannot run and a merge of what has none, naming the field; writes AdapterHub’s layout for bottlenecks', async () => {
  const folder = folderOf('houlsby', bottleneckMethod(model.spec, { kind: 'houlsby', name: 'lang', reductionFactor: 4, nonLinearity: 'silu', scaling: 1 }));
  await expect(exportMethod(model.source, folder, opts('gguf-lora', 4), path.join(dir, 'h.gguf'))).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'format', message: expect.stringContaining('llama.cpp runs LoRA adapters only') });
  await expect(exportMethod(model.source, folder, opts('merged'), path.join(dir, 'h-merged'))).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'format' });
  expect(existsSync(path.join(dir, 'h.gguf'))).toBe(false);
  await exportMethod(model.source, folder, opts('adapterhub'), path.join(dir, 'hub'));
  const back = readMethodFolder(path.join(dir, 'hub'), model.spec);
  expect(back.method.kind).toBe('houlsby');
  for (const [n, s] of folder.stored) expect(back.stored.get(n)!.raw.equals(s.raw), n).toBe(true);
  expect(maxDiff(await methodLogits(model, back.method, back.tensors, rows), await methodLogits(model, folder.method, folder.tensors, rows))).toBe(0);
});
