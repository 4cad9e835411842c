import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src-main/engine/errors.js';
import { computeLogits } from '../../src-main/engine/infer/logits.js';
import { writeSafetensors } from '../../src-main/engine/io/safetensors.js';
import { openSafetensors } from '../../src-main/engine/io/safetensors.js';
import { loadModel } from '../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../src-main/engine/models/random-model.js';

const STORIES = path.resolve(import.meta.dirname, '../../../shared/models/stories260K/stories260K.gguf');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-errors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function caught(p: Promise<unknown>): Promise<GraftError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    return e as GraftError;
  }
  throw new Error('expected an error');
}

describe('bad model files give errors naming the file and the place', () => {
  it('an unknown architecture names config.json and the architecture', async () => {
    const m = path.join(dir, 'unknown');
    await writeRandomModel(m, TINY_LLAMA);
    const cfg = JSON.parse(readFileSync(path.join(m, 'config.json'), 'utf8'));
    writeFileSync(path.join(m, 'config.json'), JSON.stringify({ ...cfg, architectures: ['GPTNeoXForCausalLM'] }));
    const e = await caught(loadModel(m));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.message).toContain('GPTNeoXForCausalLM');
    expect(e.file).toBe(path.join(m, 'config.json'));
  });

  it('a missing tensor names the weights file and the tensor when a graph is built', async () => {
    const m = path.join(dir, 'missing');
    await writeRandomModel(m, TINY_LLAMA);
    const file = path.join(m, 'model.safetensors');
    const st = openSafetensors(file);
    const keep = new Map(st.names().filter((n) => n !== 'model.layers.1.mlp.up_proj.weight').map((n) => [n, { dtype: 'F32' as const, shape: st.info(n).shape, data: st.readF32(n) }]));
    st.close();
    await writeSafetensors(file, keep);
    const e = await caught(loadModel(m).then((model) => computeLogits(model, [[1, 2, 3]])));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('model.layers.1.mlp.up_proj.weight');
    expect(e.message).toContain(m); // the model folder: the tensor may live in any of its shards
  });

  it('a truncated safetensors file names the file and the tensor cut off', async () => {
    const m = path.join(dir, 'truncated');
    await writeRandomModel(m, TINY_LLAMA);
    const file = path.join(m, 'model.safetensors');
    truncateSync(file, statSync(file).size - 100);
    const e = await caught(loadModel(m).then((model) => computeLogits(model, [[1, 2, 3]])));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(file);
    expect(e.where ?? e.message).toMatch(/lm_head|model\.(norm|layers)/);
  });

  it('a truncated GGUF names the file', async () => {
    const file = path.join(dir, 'cut.gguf');
    copyFileSync(STORIES, file);
    truncateSync(file, statSync(file).size / 2);
    const e = await caught(loadModel(file).then((model) => computeLogits(model, [[1, 2, 3]])));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(file);
  });

  it('a GGUF with a corrupt header names the file', async () => {
    const file = path.join(dir, 'bad.gguf');
    const bytes = readFileSync(STORIES);
    bytes.writeUInt32LE(0xdeadbeef, 8); // tensor count → absurd
    writeFileSync(file, bytes);
    const e = await caught(loadModel(file));
    expect(e.code).toBe('BAD_FILE');
    expect(e.message).toContain(file);
  });
});
