/**
 * One gradient table: every rule is defined in ops/ beside its forward builder, and importing ops/ (what
 * autodiff does) registers all of them, the quantized linears' (MatMulNBits, Einsum) included; no rule waits
 * for some other folder to be imported.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { registeredGradOps } from '../../../src-main/engine/ops/index.js';

const engine = path.resolve(import.meta.dirname, '../../../src-main/engine');

function* files(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (f.endsWith('.ts')) yield p;
  }
}

it('importing ops/ alone registers the quantized linears\' gradient rules', () => {
  expect(registeredGradOps()).toEqual(expect.arrayContaining(['com.microsoft::MatMulNBits', 'Einsum', 'Gemm', 'Softmax']));
});

it('every gradient rule is defined in ops/', () => {
  const outside = [...files(engine)].filter((f) => !f.startsWith(path.join(engine, 'ops') + path.sep) && /\bdefineGrad\(/.test(readFileSync(f, 'utf8')));
  expect(outside.map((f) => path.relative(engine, f))).toEqual([]);
});
