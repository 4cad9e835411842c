import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { originFileName, serializeModel } from '../../../src-main/engine/graph/onnx-writer.js';
import { onWeight, originOf, withOrigin } from '../../../src-main/engine/graph/weight-origin.js';
import { EarlyWrites } from '../../../src-main/engine/runtime/early-writes.js';

// Weights whose origin is known are named by it (no pass over gigabytes to hash them) and written while
// the graph is still being built; the files must hold exactly the weights' bytes, whole.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-early-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const weights = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

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

  it('writes each weight announced during the build, whole, once', async () => {
    const early = new EarlyWrites(dir, 'salt');
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
    expect(readdirSync(dir)).toEqual([name]);
    expect(Buffer.compare(readFileSync(path.join(dir, name)), Buffer.from(big.buffer))).toBe(0);
    // a second build finds the file there and writes nothing
    const again = new EarlyWrites(dir, 'salt');
    onWeight(again.seen, () => withOrigin(big, 'o|big', 'float32'));
    expect(await again.finish(name)).toBe(false);
  });

  it('a file that cannot be opened is left to the usual write at save time (which reports why)', async () => {
    const early = new EarlyWrites(path.join(dir, 'missing-folder'), 'salt');
    onWeight(early.seen, () => withOrigin(weights(1000, 5), 'o|x', 'float32'));
    expect(await early.finish(originFileName('salt', 'float32', 'o|x'))).toBe(false);
  });
});
