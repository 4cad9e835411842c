import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../../src-main/engine/infer/generate.js';
import { sourceStamp } from '../../../src-main/engine/io/source-stamp.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { createTimings, graphCacheSaved, GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';

// Graphs saved under a key are found again without building them (start-up time); the key covers the
// model files, so a changed file means a new graph.
let dir: string;
let cacheBefore: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-gcache-'));
  cacheBefore = process.env.GRAFT_GRAPH_CACHE;
  process.env.GRAFT_GRAPH_CACHE = path.join(dir, 'cache');
});
afterAll(() => {
  if (cacheBefore === undefined) delete process.env.GRAFT_GRAPH_CACHE;
  else process.env.GRAFT_GRAPH_CACHE = cacheBefore;
  rmSync(dir, { recursive: true, force: true });
});

describe('graph cache by key', () => {
  it('builds a graph once per key; the found graph computes the same', async () => {
    const device = await resolveDevice('cpu');
    let builds = 0;
    const build = () => {
      builds++;
      const g = new Graph('double');
      const x = g.input('x', 'float32', [4]);
      const two = g.init('two', { dtype: 'float32', shape: [256], data: new Float32Array(256).fill(2) });
      const y = g.add('Mul', [x, g.add('Slice', [two, g.init('s', { dtype: 'int64', shape: [1], data: BigInt64Array.of(0n) }), g.init('e', { dtype: 'int64', shape: [1], data: BigInt64Array.of(4n) })], [{ dtype: 'float32', shape: [4] }])[0]], [{ dtype: 'float32', shape: [4] }])[0];
      g.output(y, 'y');
      return g;
    };
    const key = `test|${Date.now()}`;
    const x: HostTensor = { dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) };
    for (let i = 0; i < 2; i++) {
      const s = await GraphSession.createCached(key, build, { device });
      // the first session was made from the build's stage; the stage is committed (its files renamed into
      // the cache, the stage removed) while the session lives, and the session computes the same after
      await graphCacheSaved();
      expect(readdirSync(process.env.GRAFT_GRAPH_CACHE!).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect(Array.from(((await s.run({ x })).y as HostTensor).data as Float32Array)).toEqual([2, 4, 6, 8]);
      await s.release();
    }
    expect(builds).toBe(1);
    expect(createTimings.at(-1)?.cached).toBe(true);
    await GraphSession.createCached(`${key}-other`, build, { device }).then((s) => s.release());
    expect(builds).toBe(2);
  });

  it('a small graph (every initializer inline) opens from memory and writes nothing; one with a weight file is saved', async () => {
    const device = await resolveDevice('cpu');
    const cache = path.join(dir, 'inline-cache');
    const was = process.env.GRAFT_GRAPH_CACHE;
    process.env.GRAFT_GRAPH_CACHE = cache;
    try {
      const graph = (n: number) => {
        const g = new Graph(`scale_${n}`);
        const x = g.input('x', 'float32', [n]);
        g.output(g.add('Mul', [x, g.init('w', { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(3) })], [{ dtype: 'float32', shape: [n] }])[0], 'y');
        return g;
      };
      const files = () => readdirSync(cache, { recursive: true }).filter((f) => String(f).endsWith('.onnx') || String(f).endsWith('.bin'));
      const small = await GraphSession.create(graph(4), { device }); // 16 bytes of weights: inline
      expect(Array.from(((await small.run({ x: { dtype: 'float32', shape: [4], data: Float32Array.of(1, 2, 3, 4) } })).y as HostTensor).data as Float32Array)).toEqual([3, 6, 9, 12]);
      await small.release();
      expect(createTimings.at(-1)).toMatchObject({ graph: 'scale_4', writeMs: 0 });
      expect(existsSync(cache) ? files() : []).toEqual([]);
      const big = await GraphSession.create(graph(512), { device }); // 2 KB: an external weight file
      expect((((await big.run({ x: { dtype: 'float32', shape: [512], data: new Float32Array(512).fill(2) } })).y as HostTensor).data as Float32Array)[511]).toBe(6);
      await big.release();
      expect(files().length).toBeGreaterThanOrEqual(2); // the model and its weight
    } finally {
      process.env.GRAFT_GRAPH_CACHE = was;
    }
  });

  it('a second generation in a fresh pool loads the saved decode graph; a touched model file makes a new one', async () => {
    const model = await loadModel(await writeRandomModel(path.join(dir, 'm'), TINY_LLAMA, { seed: 2 }));
    const device = await resolveDevice('cpu');
    const run = async () => (await generate({ model: await loadModel(model.source.path), device, tokenizer: null, prompt: [1, 5, 9], variants: [{ adapters: [] }], maxTokens: 8, sampling: { temperature: 0 }, stopAtEos: false }))[0].ids;
    createTimings.splice(0);
    const first = await run();
    expect(createTimings.some((t) => t.cached)).toBe(false);
    await graphCacheSaved();
    // the model's weights are named by origin (its files' stamp), written whole: no temp file or stage is left
    const files = () => readdirSync(process.env.GRAFT_GRAPH_CACHE!);
    const byOrigin = files().filter((f) => f.startsWith('o-'));
    expect(byOrigin.length).toBeGreaterThan(0);
    expect(files().filter((f) => f.includes('.tmp-'))).toEqual([]);
    createTimings.splice(0);
    expect(await run()).toEqual(first);
    expect(createTimings.length).toBeGreaterThan(0);
    expect(createTimings.every((t) => t.cached)).toBe(true);
    const stamp = sourceStamp(model.source);
    const f = path.join(model.source.path, 'model.safetensors');
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    expect(sourceStamp(model.source)).not.toBe(stamp);
    createTimings.splice(0);
    expect(await run()).toEqual(first);
    expect(createTimings.some((t) => t.cached)).toBe(false);
    await graphCacheSaved();
    // a changed model file names new weight files: the old ones are never taken for its weights
    const now = files().filter((f) => f.startsWith('o-'));
    expect(now.filter((f) => !byOrigin.includes(f)).length).toBe(byOrigin.length);
  });
});
