import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { liveBytes, ortDefaultOrder, simpleCachePool } from '../../../src-main/engine/graph/live-bytes.js';
import * as op from '../../../src-main/engine/ops/index.js';

describe('liveBytes: the peak of a graph’s intermediates in node order', () => {
  it('frees a value after its last reader, and a Reshape holds no bytes of its own', () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', [4]); // 16 bytes, an input: counted apart
    const a = op.add(g, x, x); // 16
    const b = op.mul(g, a, a); // 16: a is freed after this node
    g.output(op.add(g, op.reshape(g, b, [2, 2]), op.reshape(g, x, [2, 2])), 'y');
    const r = liveBytes(g);
    // a and b at the Mul; then b and the sum (a is gone, the Reshapes alias b and x)
    expect(r.peak).toBe(32);
    expect(r.inputs).toBe(16);
  });

  it('a value read late stays alive until then', () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', [4]);
    const w = g.init('w', { dtype: 'float32', shape: [4], data: new Float32Array(4) });
    const a = op.add(g, x, w);
    const b = op.mul(g, a, a);
    const c = op.mul(g, b, b);
    g.output(op.add(g, op.reshape(g, c, [4]), a), 'y'); // a is read by the last node
    const r = liveBytes(g);
    // at the last node: a, c and the sum (b was freed after c)
    expect(r.peak).toBe(48);
    expect(r.initializers).toBe(16 + 8); // the weight, and the Reshape’s int64 shape
    expect(r.atPeak.map((v) => v.bytes)).toEqual([16, 16, 16]);
  });

  it("ORT's order is topological and visits a node's lower-index producer first", () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', [4]);
    const a = op.exp(g, x); // node 0
    const b = op.neg(g, x); // node 1
    const c = op.add(g, b, a); // node 2: reads 1 then 0; 0 is visited first
    g.output(op.mul(g, c, a), 'y');
    const order = ortDefaultOrder(g);
    expect([...order].sort()).toEqual(g.nodes.map((_, i) => i));
    expect(order.slice(0, 3)).toEqual([0, 1, 2]);
  });

  it("the 'simple' cache model reuses a released buffer of the same size only after a flush", () => {
    const g = new Graph('t');
    let v = g.input('x', 'float32', [256]); // 1 KiB values
    for (let i = 0; i < 12; i++) v = op.exp(g, v);
    g.output(v, 'y');
    const order = ortDefaultOrder(g);
    // flushed after every kernel: the chain ping-pongs between a few buffers
    expect(simpleCachePool(g, order, 1).buffers).toBeLessThanOrEqual(3);
    // never flushed within the run: every kernel creates its own buffer
    expect(simpleCachePool(g, order, 1000).buffers).toBe(12);
  });
});
