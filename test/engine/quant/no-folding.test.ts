/**
 * The "constant folding must not materialize fp32 weights": ORT writes the model as it will run
 * it (optimizedModelFilePath). With the options GraphSession uses for a quantized graph (basic level,
 * ConstantFolding off) the optimized model still refers to the packed weights in the external file and
 * gains no initializers; with full optimization the dequantization chains are folded into new fp32
 * initializers written inline (4 bytes per projection parameter). The second case is the control that
 * shows the check can fail.
 */
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { quantizeSource, quantWeightsFactory, storeFootprint, type QuantScheme } from '../../../src-main/engine/quant/index.js';
import { saveGraph } from '../../../src-main/engine/runtime/graph-cache.js';
import { buildStepGraph } from '../../../src-main/engine/train/step-graph.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-nofold-'));
// Projections dominate this model's size (small vocabulary), so folding them would show.
const CFG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};
const model = await loadModel(await writeRandomModel(path.join(tmp, 'model'), CFG, { seed: 5 }));
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'v', 'down'] };

async function optimizedBytes(modelPath: string, fold: boolean, name: string): Promise<number> {
  const out = path.join(tmp, `${name}.onnx`);
  const so: ort.InferenceSession.SessionOptions = fold
    ? { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: out }
    : {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'basic',
        optimizedModelFilePath: out,
        extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } },
      };
  const s = await ort.InferenceSession.create(modelPath, so);
  await s.release();
  return statSync(out).size;
}

describe.each(['nf4', 'int4'] as QuantScheme[])('%s training graph', (scheme) => {
  it('keeps packed weights through ORT optimization; folding them would expand the projections to fp32', async () => {
    const store = quantizeSource(model.source, scheme);
    const sg = buildStepGraph({
      spec: model.spec,
      source: model.source,
      lora: LORA,
      batch: 1,
      seq: 8,
      purpose: 'grads',
      weights: quantWeightsFactory(store),
    });
    expect(sg.graph.keepConstantsPacked).toBe(true);
    const file = await saveGraph(sg.graph);
    const { bytes, params } = storeFootprint(store);
    const packed = await optimizedBytes(file, false, `${scheme}-packed`);
    const folded = await optimizedBytes(file, true, `${scheme}-folded`);
    console.log(`${scheme}: projections ${params} params, packed ${bytes} B; optimized model ${packed} B as run, ${folded} B if folded`);
    expect(packed).toBeLessThan(params / 4); // graph only: no expanded copy of any projection
    expect(folded).toBeGreaterThan(packed + 3 * params); // the control: folding really would expand them
  });
});
