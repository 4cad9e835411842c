/** How config.json (and GGUF metadata) of the new families become specs: the fields the shared decoder reads. */
import { describe, expect, it } from 'vitest';
import { targetsFor } from '../../../src-main/engine/adapters/lora.js';
import { GraftError } from '../../../src-main/engine/errors.js';
import { GGUF_FAMILIES } from '../../../src-main/engine/io/gguf-families.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { SUPPORTED_ARCHITECTURES } from '../../../src-main/engine/io/hf-config.js';
import { MODEL_FAMILIES } from '../../../src-main/engine/io/model-families.js';
import { ARCHITECTURES, specFromConfig } from '../../../src-main/engine/models/index.js';
import { inverseFrequencies, ropeTables, rotateHalfMatrix } from '../../../src-main/engine/models/rope.js';

const base: HfConfig = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, max_position_embeddings: 131072 };

describe('model families', () => {
  it('one list: the builders, SUPPORTED_ARCHITECTURES and the GGUF families all come from io/model-families.ts', () => {
    expect(Object.keys(ARCHITECTURES).sort()).toEqual([...SUPPORTED_ARCHITECTURES].sort());
    expect(Object.keys(GGUF_FAMILIES).sort()).toEqual(MODEL_FAMILIES.flatMap((f) => f.gguf).sort());
  });

  it('an unsupported architecture is refused naming it and listing every supported family', () => {
    try {
      specFromConfig({ ...base, architectures: ['GPTNeoXForCausalLM'] }, 'config.json');
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(GraftError);
      expect((e as GraftError).code).toBe('UNSUPPORTED');
      for (const f of MODEL_FAMILIES) expect((e as GraftError).message).toContain(f.name);
      expect((e as GraftError).message).toContain('GPTNeoXForCausalLM');
    }
  });
});

describe('specs', () => {
  it('SmolLM3 without no_rope_layers: every 4th layer is NoPE (transformers default)', () => {
    expect(specFromConfig({ ...base, architectures: ['SmolLM3ForCausalLM'], num_hidden_layers: 8 }, 'c').noRopeLayers).toEqual([3, 7]);
  });

  it('Gemma 3 without layer_types: every 6th layer full (sliding_window_pattern 6), local RoPE from rope_local_base_freq, GGUF default the same', () => {
    const s = specFromConfig({ ...base, architectures: ['Gemma3ForCausalLM'], head_dim: 32, sliding_window: 512, rope_theta: 1e6, rope_local_base_freq: 1e4, query_pre_attn_scalar: 256 }, 'c');
    expect(s.sliding).toEqual({ window: 512, layers: [0, 1, 2, 3, 4], rope: { theta: 1e4, scaling: null } });
    expect(s.ropeTheta).toBe(1e6);
    expect(s.attnScale).toBe(1 / 16);
    expect(s.tiedEmbeddings).toBe(true);
    const g = GGUF_FAMILIES.gemma3.config!({}, 'gemma3', { ...base, head_dim: 32 }, new Set());
    expect(g.layer_types).toEqual(['sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  });

  it('Phi-3.5 style: partial rotary, longrope with short factors up to the original context and long ones beyond, attention factor from the growth', () => {
    const half = 4; // rotary dims 8 of head 16
    const cfg: HfConfig = {
      ...base,
      architectures: ['Phi3ForCausalLM'],
      sliding_window: 262144,
      original_max_position_embeddings: 4096,
      rope_parameters: { rope_theta: 10000, rope_type: 'longrope', partial_rotary_factor: 0.5, short_factor: [1, 1.5, 2, 2.5], long_factor: [3, 4, 5, 6] },
    };
    const s = specFromConfig(cfg, 'c');
    expect([s.rotaryDim, s.fusedProjections, s.sliding]).toEqual([8, true, null]);
    const att = Math.sqrt(1 + Math.log(131072 / 4096) / Math.log(4096));
    expect(s.ropeScaling).toMatchObject({ type: 'longrope', originalMaxPositions: 4096 });
    expect((s.ropeScaling as { attentionFactor: number }).attentionFactor).toBeCloseTo(att, 12);
    const short = inverseFrequencies(s, undefined, 4096);
    const long = inverseFrequencies(s, undefined, 4097);
    for (let i = 0; i < half; i++) {
      const plain = 1 / 10000 ** ((2 * i) / 8);
      expect(short[i]).toBeCloseTo(plain / [1, 1.5, 2, 2.5][i], 6);
      expect(long[i]).toBeCloseTo(plain / [3, 4, 5, 6][i], 6);
    }
    const t = ropeTables(s, 3);
    expect(t.cos[16 + 0]).toBeCloseTo(Math.cos(1 * short[0]) * att, 6);
    expect(Array.from(t.cos.subarray(16 + 8, 32))).toEqual(new Array(8).fill(1)); // the pass-through dims
    expect(Array.from(t.sin.subarray(16 + 8, 32))).toEqual(new Array(8).fill(0));
  });

  it('partial rotary as one MatMul: x·R rotates the first r dims as rotate_half does and zeroes the rest', () => {
    const d = 6;
    const r = rotateHalfMatrix(d, 4);
    const x = [1, 2, 3, 4, 5, 6];
    const y = Array.from({ length: d }, (_, j) => x.reduce((acc, xi, i) => acc + xi * r[i * d + j], 0));
    expect(y).toEqual([-3, -4, 1, 2, 0, 0]);
  });

  it('LoRA targets follow how the model names its projections', () => {
    const phi = specFromConfig({ ...base, architectures: ['Phi3ForCausalLM'] }, 'c');
    const llama = specFromConfig({ ...base, architectures: ['LlamaForCausalLM'] }, 'c');
    expect(targetsFor(phi, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'])).toEqual(['o', 'down', 'qkv', 'gate_up']);
    expect(targetsFor(phi, ['q', 'down'])).toEqual(['down', 'qkv']);
    expect(targetsFor(llama, ['qkv', 'o', 'gate_up'])).toEqual(['q', 'k', 'v', 'o', 'gate', 'up']);
  });
});
