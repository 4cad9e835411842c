/**
 * A readable, stable text form of a graph for golden tests: one line per node with its op, inputs,
 * attributes and output type. Reviewing a diff of this file is how a change to a graph is reviewed.
 */
import type { Attr, Graph, Value } from './ir.js';

const type = (v: Value) => `${v.dtype}[${v.shape.join(',')}]`;

function attr(a: Attr): string {
  if ('i' in a) return String(a.i);
  if ('f' in a) return String(a.f);
  if ('s' in a) return JSON.stringify(a.s);
  if ('ints' in a) return `[${a.ints.join(',')}]`;
  if ('floats' in a) return `[${a.floats.join(',')}]`;
  return `tensor ${a.t.dtype}[${a.t.shape.join(',')}]`;
}

export function dumpGraph(g: Graph): string {
  const lines = [`graph ${g.name}`];
  for (const v of g.inputs) lines.push(`  input  ${v.name}: ${type(v)}`);
  for (const [v, t] of g.initializers) {
    const n = t.data.length;
    // small constants (shapes, axes, scalars) are part of the graph's meaning; weights are not
    const shown = n <= 8 ? ` = [${Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === 'number' ? +x.toPrecision(6) : String(x))).join(',')}]` : '';
    lines.push(`  init   ${v.name}: ${type(v)}${shown}`);
  }
  for (const n of g.nodes) {
    const attrs = Object.entries(n.attrs).map(([k, a]) => `${k}=${attr(a)}`);
    const op = `${n.domain ? n.domain + '.' : ''}${n.op}${attrs.length ? `{${attrs.join(', ')}}` : ''}`;
    const ins = n.inputs.map((i) => (i ? i.name : '_')).join(', ');
    lines.push(`  ${n.outputs.map((o) => `${o.name}: ${type(o)}`).join(', ')} = ${op}(${ins})${n.noGrad ? '  # no grad' : ''}`);
  }
  for (const v of g.outputs) lines.push(`  output ${v.name}: ${type(v)}`);
  return lines.join('\n') + '\n';
}
