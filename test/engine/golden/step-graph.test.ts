import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dumpGraph } from '../../../src-main/engine/graph/dump.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { buildStepGraph } from '../../../src-main/engine/train/step-graph.js';

// The golden is the LoRA training-step graph (forward, loss, backward, AdamW) of a one-layer model.
// When a graph change is intended, regenerate with GRAFT_UPDATE_GOLDEN=1 and review the diff.
const GOLDEN = path.join(import.meta.dirname, 'lora-step-graph.txt');
let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-golden-'));
  const cfg = { architectures: ['LlamaForCausalLM'], hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 16, max_position_embeddings: 16, tie_word_embeddings: true };
  model = await loadModel(await writeRandomModel(dir, cfg));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the LoRA training-step graph matches its golden text dump', () => {
  const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: { r: 2, alpha: 4, dropout: 0, rslora: false, targets: ['q', 'v'] }, batch: 1, seq: 4, purpose: 'step' });
  const text = dumpGraph(sg.graph);
  if (process.env.GRAFT_UPDATE_GOLDEN || !existsSync(GOLDEN)) writeFileSync(GOLDEN, text);
  expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  // The backward reaches only the adapter: no gradient is formed for a frozen base weight.
  expect(text).not.toMatch(/grad.*model\.layers\.0\.self_attn\.q_proj\.weight/);
  expect(sg.params).toEqual([
    'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
    'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
    'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight',
    'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
  ]);
});
