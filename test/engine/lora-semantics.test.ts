import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loraScale } from '../../src-main/engine/adapters/lora-config.js';
import { computeLogits } from '../../src-main/engine/infer/logits.js';
import { loadModel, type LoadedModel } from '../../src-main/engine/model.js';
import { inverseFrequencies } from '../../src-main/engine/models/rope.js';
import { TINY_LLAMA, writeRandomModel } from '../../src-main/engine/models/random-model.js';
import { createStepRunner } from '../../src-main/engine/train/step-runner.js';

let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-lora-'));
  model = await loadModel(await writeRandomModel(dir, TINY_LLAMA, { seed: 3, embedStd: 1, std: 0.3 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = [[1, 5, 9, 13, 17, 21, 25, 29]];
const batch = { inputIds: Int32Array.from(ids[0]), labels: Int32Array.from(ids[0]), batch: 1, seqLen: 8 };
const hp = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };

describe('LoRA semantics (PEFT)', () => {
  it('scaling is alpha/r, or alpha/√r with rsLoRA', () => {
    expect(loraScale({ r: 16, alpha: 32, rslora: false })).toBe(2);
    expect(loraScale({ r: 16, alpha: 32, rslora: true })).toBe(8);
  });

  it('a fresh adapter is the identity (B = 0) and A is U(±1/√in)', async () => {
    const runner = await createStepRunner({ source: model.source, lora: { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'v', 'gate'] }, device: 'cpu', batch: 1, seqLen: 8, seed: 1 });
    const st = await runner.getState();
    await runner.dispose();
    for (const [name, t] of st.lora) {
      if (name.includes('lora_B')) expect(t.data.every((x) => x === 0)).toBe(true);
      else expect(Math.max(...t.data.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(t.shape[1]));
    }
    const tensors = new Map([...st.lora].map(([k, t]) => [k, t.data]));
    const base = await computeLogits(model, ids);
    const withAdapter = await computeLogits(model, ids, { adapters: [{ weights: { r: 4, alpha: 8, rslora: false, targets: ['q', 'v', 'gate'], tensors } }] });
    expect(Array.from(withAdapter)).toEqual(Array.from(base));
  });

  it('dropout changes the training loss but not the evaluation loss, and is reproducible for a seed', async () => {
    const mk = (dropout: number) => createStepRunner({ source: model.source, lora: { r: 4, alpha: 8, dropout, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, device: 'cpu', batch: 1, seqLen: 8, seed: 5 });
    const [plain, dropA, dropB] = await Promise.all([mk(0), mk(0.5), mk(0.5)]);
    // one step so B ≠ 0 and dropout on the LoRA input can matter
    for (const r of [plain, dropA, dropB]) await r.step(batch, hp);
    const state = await plain.getState();
    await dropA.setState(state);
    await dropB.setState(state);
    const train = async (r: typeof plain) => (await r.accumulate(batch)).lossSum;
    const [l0, la, lb] = [await train(plain), await train(dropA), await train(dropB)];
    expect(la).not.toBeCloseTo(l0, 4);
    expect(la).toBe(lb);
    expect((await dropA.evalLoss(batch)).lossSum).toBeCloseTo((await plain.evalLoss(batch)).lossSum, 5);
    for (const r of [plain, dropA, dropB]) await r.dispose();
  });

  it('llama3 rope scaling keeps high frequencies, divides low ones by the factor, blends between', () => {
    const spec = { ...model.spec, headDim: 128, ropeTheta: 500000, ropeScaling: { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } };
    const scaled = inverseFrequencies(spec);
    const plain = inverseFrequencies({ ...spec, ropeScaling: null });
    const wavelen = (f: number) => (2 * Math.PI) / f;
    let kinds = 0;
    plain.forEach((f, i) => {
      if (wavelen(f) < 8192 / 4) expect(scaled[i]).toBe(f);
      else if (wavelen(f) > 8192) expect(scaled[i]).toBeCloseTo(f / 8, 12);
      else {
        expect(scaled[i]).toBeLessThan(f);
        expect(scaled[i]).toBeGreaterThan(f / 8);
        kinds++;
      }
    });
    expect(kinds).toBeGreaterThan(0);
  });
});
