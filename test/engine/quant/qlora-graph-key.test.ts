import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../../src-main/engine/model.js';
import { loadQuantizedBase, quantStoreId, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { createTimings, graphCacheSaved } from '../../../src-main/engine/runtime/session.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';

// A QLoRA step graph over a store read from its cache file is saved under a key (the file's name, size and
// time): a second start finds it instead of building and hashing it again; a store written again is another
// graph, and a store with no file (not cached) is built each time.
const STORIES = path.resolve('../shared/models/stories260K/stories260K.gguf');
const root = mkdtempSync(path.join(os.tmpdir(), 'graft-qkey-'));
const cacheBefore = process.env.GRAFT_GRAPH_CACHE;
process.env.GRAFT_GRAPH_CACHE = path.join(root, 'graphs');
afterAll(() => {
  if (cacheBefore === undefined) delete process.env.GRAFT_GRAPH_CACHE;
  else process.env.GRAFT_GRAPH_CACHE = cacheBefore;
  rmSync(root, { recursive: true, force: true });
});

describe('QLoRA step graphs by key', () => {
  it('found again by the same store file; another store or none builds anew; the loss is the same', async () => {
    const { source, spec } = await loadModel(STORIES);
    const q = await loadQuantizedBase(source, 'nf4', { cacheDir: path.join(root, 'quant') });
    expect(q.file).not.toBeNull();
    const ids = Int32Array.from({ length: 16 }, (_, i) => 1 + ((i * 7) % 500));
    const batch = { inputIds: ids, labels: ids, batch: 1, seqLen: 16 };
    const step = async (storeId: string | null) => {
      createTimings.splice(0);
      const r = await createStepRunner({ source, spec, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'v'] }, device: 'cpu', batch: 1, seqLen: 16, seed: 1, weights: quantWeightsFactory(q.store, { storeId }) });
      const o = await r.step(batch, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 1 });
      await r.dispose();
      await graphCacheSaved();
      const main = createTimings.filter((t) => t.graph === 'train_step');
      return { loss: o.lossSum / o.tokens, cached: main.map((t) => !!t.cached) };
    };
    const id = quantStoreId(q.file)!;
    const first = await step(id);
    expect(first.cached).toEqual([false]);
    const again = await step(id);
    expect(again.cached).toEqual([true]);
    expect(again.loss).toBe(first.loss);
    // the store file written again (another quantization): its id changes, and so does the graph's key
    utimesSync(q.file!, new Date(), new Date(Date.now() + 5000));
    const rewritten = quantStoreId(q.file)!;
    expect(rewritten).not.toBe(id);
    expect((await step(rewritten)).cached).toEqual([false]);
    expect((await step(null)).cached).toEqual([false]);
    expect((await step(null)).cached).toEqual([false]);
  });
});
