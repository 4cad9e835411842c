/**
 * GPTQ over a real model (stories260K): the one-layer session reproduces the model layer by layer,
 * its Hessians are XᵀX of the projections' real inputs, calibration is reproducible, and the result
 * caches under its own key.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { LayerHessians } from '../../../src-main/engine/quant/layer-hessians.js';
import {
  loadQuantizedBase,
  quantizeModelGptq,
  quantizeSource,
  QUANTIZED_LINEAR,
  readQuantCache,
  sampleCalibrationRows,
} from '../../../src-main/engine/quant/index.js';
import { probeWebGpu, resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { modelContentHash } from '../../../src-main/engine/io/content-hash.js';

const STORIES = path.resolve('../shared/models/stories260K/stories260K.gguf');
const gpuError = await probeWebGpu();
const gpuRequired = process.env.GRAFT_E2E_REQUIRED === '1';

function rmsNorm(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  const D = w.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d] ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) out[r * D + d] = x[r * D + d] * inv * w[d];
  }
  return out;
}

describe('GPTQ on stories260K', () => {
  const FIXTURES = path.resolve('../shared/fixtures/hf-reference');
  it.each([
    ['stories260K', STORIES],
    ['llama fixture', path.join(FIXTURES, 'llama/model')],
    ['qwen2 fixture (q/k/v biases, untied head)', path.join(FIXTURES, 'qwen2/model')],
    ['qwen3 fixture (q/k norms)', path.join(FIXTURES, 'qwen3/model')],
  ])('%s: one-layer runs reproduce the model, and their Hessians are XᵀX of the real inputs', async (_name, file) => {
    const model = await loadModel(file);
    const { spec, source } = model;
    const device = await resolveDevice('cpu');
    const rows = [
      [1, 400, 30, 70, 5, 9, 250, 12],
      [1, 88, 17, 300, 41, 2, 33, 100],
    ].map((r) => r.map((id) => id % model.spec.vocab));
    const [B, T, D] = [rows.length, rows[0].length, spec.hidden];
    const table = source.readF32('model.embed_tokens.weight');
    let res: Float32Array = new Float32Array(B * T * D);
    rows.flat().forEach((id, i) => res.set(table.subarray(id * D, (id + 1) * D), i * D));
    const runner = await LayerHessians.create(model, B, T, device);
    try {
      for (let layer = 0; layer < spec.layers; layer++) {
        const tensors = new Map(runner.tensorNames(layer).map((n) => [n, source.readF32(n)]));
        const out = await runner.run(layer, res, tensors);
        if (layer === 0) {
          // q_proj reads the input-normed residual: XᵀX [D, D].
          const x = rmsNorm(res, source.readF32('model.layers.0.input_layernorm.weight'), spec.eps);
          const h = out.hessians.get(runner.hessianKey('model.layers.0.self_attn.q_proj.weight'))!;
          let worst = 0,
            scale = 0;
          for (let i = 0; i < D; i++)
            for (let j = 0; j < D; j++) {
              let s = 0;
              for (let t = 0; t < B * T; t++) s += x[t * D + i] * x[t * D + j];
              worst = Math.max(worst, Math.abs(s - h[i * D + j]));
              scale = Math.max(scale, Math.abs(s));
            }
          expect(worst / scale).toBeLessThan(1e-5);
          expect(runner.hessianKey('model.layers.0.self_attn.k_proj.weight')).toBe(
            runner.hessianKey('model.layers.0.self_attn.q_proj.weight'),
          );
          expect(runner.hessianKey('model.layers.0.mlp.down_proj.weight')).not.toBe(runner.hessianKey('model.layers.0.mlp.up_proj.weight'));
        }
        res = out.residual;
      }
    } finally {
      await runner.release();
    }
    // Final norm and LM head in plain JS on the last residual = the model's own logits.
    const hidden = rmsNorm(res, source.readF32('model.norm.weight'), spec.eps);
    const head = source.readF32(spec.tiedEmbeddings || !source.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight');
    const ref = await computeLogits(model, rows);
    let worst = 0;
    for (let t = 0; t < B * T; t++)
      for (let v = 0; v < spec.vocab; v++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += hidden[t * D + d] * head[v * D + d];
        worst = Math.max(worst, Math.abs(s - ref[t * spec.vocab + v]));
      }
    expect(worst).toBeLessThan(1e-4);
  });

  it('calibrates reproducibly, covers every projection, caches under its own key and can be cancelled', async () => {
    const model = await loadModel(STORIES);
    const device = await resolveDevice('cpu');
    const calib = { device, rows: 8, length: 64, seed: 5 };
    const rows = await sampleCalibrationRows(model, calib);
    expect(rows).toHaveLength(8);
    expect(rows.every((r) => r.length === 64 && r[0] === 1)).toBe(true);
    expect(await sampleCalibrationRows(model, calib)).toEqual(rows);
    expect(new Set(rows.map((r) => r.join())).size).toBe(8); // every row its own sample

    const progress: string[] = [];
    const store = await quantizeModelGptq(model, 'int4', 'int8', {
      device,
      rows,
      onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`),
    });
    const projections = model.source.names().filter((n) => QUANTIZED_LINEAR.test(n));
    expect([...store.keys()].filter((n) => QUANTIZED_LINEAR.test(n)).sort()).toEqual(projections.sort());
    expect(store.get('model.embed_tokens.weight')?.scheme).toBe('int8');
    expect(progress.at(-1)).toBe(`layers ${model.spec.layers}/${model.spec.layers}`);
    const rtn = quantizeSource(model.source, 'int4');
    const q = store.get(projections[0]),
      r = rtn.get(projections[0]);
    expect(q?.scheme === 'int4' && r?.scheme === 'int4' && Buffer.compare(Buffer.from(q.b), Buffer.from(r.b)) !== 0).toBe(true);

    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'graft-gptq-cache-'));
    const calibrate = { model, device };
    const first = await loadQuantizedBase(model.source, 'nf4', { cacheDir, method: 'gptq', calibrate });
    expect(first.fromCache).toBe(false);
    expect(path.basename(first.file!)).toMatch(/-nf4-gptq1\.gq$/);
    const second = await loadQuantizedBase(model.source, 'nf4', { cacheDir, method: 'gptq', calibrate });
    expect(second.fromCache).toBe(true);
    expect([...second.store.keys()]).toEqual([...first.store.keys()]);
    const plain = await loadQuantizedBase(model.source, 'nf4', { cacheDir });
    expect(plain.fromCache).toBe(false); // round-to-nearest has its own entry
    expect(readdirSync(cacheDir)).toHaveLength(2);
    const hash = await modelContentHash(STORIES);
    expect(() => readQuantCache(first.file!, 'nf4', hash, 'fp16', 'rtn')).toThrow(/another base, scheme, method/);
    await expect(loadQuantizedBase(model.source, 'int4', { cacheDir: null, method: 'gptq' })).rejects.toThrow(/needs the model/);

    const ac = new AbortController();
    ac.abort();
    await expect(quantizeModelGptq(model, 'int4', 'fp16', { device, rows, signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it.skipIf(gpuError !== null && !gpuRequired)(
    `a layer run on the WebGPU EP (CPU fallback disabled) matches the CPU${gpuError ? ` — skipped: ${gpuError}` : ''}`,
    async () => {
      const model = await loadModel(STORIES);
      const rows = [[1, 400, 30, 70, 5, 9, 250, 12, 88, 17, 300, 41, 2, 33, 100, 7]];
      const D = model.spec.hidden;
      const table = model.source.readF32('model.embed_tokens.weight');
      const res = new Float32Array(rows[0].length * D);
      rows[0].forEach((id, i) => res.set(table.subarray(id * D, (id + 1) * D), i * D));
      const runs = [];
      for (const pref of ['cpu', 'gpu'] as DevicePref[]) {
        const runner = await LayerHessians.create(model, 1, rows[0].length, await resolveDevice(pref));
        try {
          runs.push(await runner.run(2, res, new Map(runner.tensorNames(2).map((n) => [n, model.source.readF32(n)]))));
        } finally {
          await runner.release();
        }
      }
      const rel = (a: Float32Array, b: Float32Array) => {
        let d = 0,
          m = 0;
        for (let i = 0; i < a.length; i++) {
          d = Math.max(d, Math.abs(a[i] - b[i]));
          m = Math.max(m, Math.abs(a[i]));
        }
        return d / m;
      };
      expect(rel(runs[0].residual, runs[1].residual)).toBeLessThan(1e-4);
      expect([...runs[1].hessians.keys()]).toEqual([...runs[0].hessians.keys()]);
      for (const [k, h] of runs[0].hessians) expect(rel(h, runs[1].hessians.get(k)!)).toBeLessThan(1e-4);
    },
  );
});
