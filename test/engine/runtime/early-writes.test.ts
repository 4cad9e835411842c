import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { originFileName, serializeModel } from '../../../src-main/engine/graph/onnx-writer.js';
import { onWeight, originOf, withOrigin } from '../../../src-main/engine/graph/weight-origin.js';
import { EarlyWrites } from '../../../src-main/engine/runtime/early-writes.js';
import { Stage } from '../../../src-main/engine/runtime/stage.js';

// Weights whose origin is known are named by it (no pass over gigabytes to hash them) and written into the
// build's stage while the graph is still being built; committed, the cache's files must hold exactly the
// weights' bytes, whole, and nothing of the stage may be left.
let root: string;
let n = 0;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'graft-early-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
const freshDir = () => {
  const d = path.join(root, `c${n++}`);
  mkdirSync(d);
  return d;
};

const weights = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 0.37 + seed));
const same = (file: string, a: Float32Array) => Buffer.compare(readFileSync(file), Buffer.from(a.buffer)) === 0;

function graphWith(data: Float32Array, origin: string | null): Graph {
  const g = new Graph('w');
  const x = g.input('x', 'float32', [data.length]);
  const w = g.init('w', { dtype: 'float32', shape: [data.length], data: withOrigin(data, origin, 'float32') });
  g.output(g.add('Add', [x, w], [{ dtype: 'float32', shape: [data.length] }])[0], 'y');
  return g;
}

describe('weights named by origin', () => {
  it('names a weight with an origin by it when given a salt, by content otherwise', () => {
    const a = weights(1000, 1);
    const g = graphWith(a, 'stamp|model.w|float32');
    expect(originOf(a)).toBe('stamp|model.w|float32');
    expect(serializeModel(g, { salt: 'code1' }).external).toEqual([expect.objectContaining({ name: originFileName('code1', 'float32', 'stamp|model.w|float32'), byOrigin: true })]);
    // another code stamp, another file: a file made by other code is never taken for this one
    expect(serializeModel(g, { salt: 'code2' }).external[0].name).not.toBe(serializeModel(g, { salt: 'code1' }).external[0].name);
    const byContent = serializeModel(g).external[0];
    expect(byContent.byOrigin).toBe(false);
    expect(byContent.name).toMatch(/^t-float32-[0-9a-f]{32}\.bin$/);
    // an array with no origin is named by content even with a salt
    expect(serializeModel(graphWith(weights(1000, 1), null), { salt: 'code1' }).external[0].name).toBe(byContent.name);
  });

  it('writes each weight announced during the build into the stage, whole, once; commit moves it into the cache', async () => {
    const dir = freshDir();
    const stage = new Stage(dir);
    const early = new EarlyWrites(stage, 'salt');
    const big = weights(300_000, 2);
    const small = weights(100, 3); // under the inline threshold: no file
    onWeight(early.seen, () => {
      withOrigin(big, 'o|big', 'float32');
      withOrigin(big, 'o|big', 'float32'); // announced twice (a weight shared by two projections): one write
      withOrigin(small, 'o|small', 'float32');
    });
    withOrigin(weights(2000, 4), 'o|outside', 'float32'); // after the build: nobody listens
    const name = originFileName('salt', 'float32', 'o|big');
    expect(await early.finish(name)).toBe(true);
    expect(await early.finish(originFileName('salt', 'float32', 'o|small'))).toBe(false);
    await early.settle();
    expect(readdirSync(stage.dir)).toEqual([name]);
    expect(same(stage.path(name), big)).toBe(true);
    expect(existsSync(path.join(dir, name))).toBe(false); // not in the cache before it is durable
    await stage.commit();
    expect(readdirSync(dir)).toEqual([name]);
    expect(same(path.join(dir, name), big)).toBe(true);
    // a second build finds the file in the cache and writes nothing
    const again = new Stage(dir);
    const second = new EarlyWrites(again, 'salt');
    onWeight(second.seen, () => withOrigin(big, 'o|big', 'float32'));
    expect(await second.finish(name)).toBe(false);
    await again.discard();
    expect(readdirSync(dir)).toEqual([name]);
  });

  it('two builds of one process share a weight in flight: written once, linked into the second stage', async () => {
    const dir = freshDir();
    const [s1, s2] = [new Stage(dir), new Stage(dir)];
    const [e1, e2] = [new EarlyWrites(s1, 'salt'), new EarlyWrites(s2, 'salt')];
    const w = weights(50_000, 6);
    onWeight(e1.seen, () => withOrigin(w, 'o|shared', 'float32'));
    onWeight(e2.seen, () => withOrigin(w, 'o|shared', 'float32'));
    const name = originFileName('salt', 'float32', 'o|shared');
    expect(await e2.finish(name)).toBe(true);
    expect(same(s2.path(name), w)).toBe(true);
    expect(await e1.finish(name)).toBe(true);
    await s1.commit();
    await s2.commit(); // wrote nothing of its own: only its stage goes
    expect(readdirSync(dir)).toEqual([name]);
    expect(same(path.join(dir, name), w)).toBe(true);
  });

  it('a write that fails is reported by finish, and nothing reaches the cache', async () => {
    const dir = freshDir();
    const stage = new Stage(dir);
    rmSync(stage.dir, { recursive: true }); // the stage folder gone: the open fails
    const early = new EarlyWrites(stage, 'salt');
    onWeight(early.seen, () => withOrigin(weights(1000, 5), 'o|x', 'float32'));
    await expect(early.finish(originFileName('salt', 'float32', 'o|x'))).rejects.toThrow(/ENOENT/);
    await stage.discard();
    expect(readdirSync(dir)).toEqual([]);
  });
});
