import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModelSource, SUPPORTED_ARCHITECTURES } from '../../../src-main/engine/io/model-source.js';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../src-main/engine/io/safetensors.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { writeGguf } from '../../../src-main/engine/io/gguf-write.js';
import { unpermuteRows } from '../../../src-main/engine/io/gguf-hf.js';
import { FIX, STORIES, expectGraftError, tmp } from './helpers.js';

describe('openModelSource: Hugging Face folders', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3']) {
    it(`${arch} fixture: config, HF names and values`, async () => {
      const src = await openModelSource(`${FIX}/${arch}/model`);
      const st = openSafetensors(`${FIX}/${arch}/model/model.safetensors`);
      expect(src.format).toBe('safetensors');
      expect(SUPPORTED_ARCHITECTURES).toContain(src.config.architectures![0]);
      expect(src.names().sort()).toEqual(st.names().sort());
      expect(src.shape('model.layers.1.mlp.down_proj.weight')).toEqual([src.config.hidden_size, src.config.intermediate_size]);
      expect(src.dtype('model.norm.weight')).toBe('F32');
      expect(Array.from(src.readF32('model.layers.0.self_attn.q_proj.weight'))).toEqual(Array.from(st.readF32('model.layers.0.self_attn.q_proj.weight')));
      expect(src.has('lm_head.weight')).toBe(src.config.tie_word_embeddings !== true);
      expect(await src.tokenizer()).toBeNull(); // fixtures ship no tokenizer.json
      src.close();
    });
  }

  it('sharded folder (model.safetensors.index.json) gives the same tensors', async () => {
    const d = tmp('shard');
    const st = openSafetensors(`${FIX}/qwen2/model/model.safetensors`);
    copyFileSync(`${FIX}/qwen2/model/config.json`, join(d, 'config.json'));
    const names = st.names();
    const shards: Array<Map<string, TensorToWrite>> = [new Map(), new Map()];
    const weightMap: Record<string, string> = {};
    names.forEach((n, i) => {
      const info = st.info(n);
      shards[i % 2].set(n, { dtype: info.dtype, shape: info.shape, data: st.readRaw(n) });
      weightMap[n] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
    });
    await writeSafetensors(join(d, 'model-00001-of-00002.safetensors'), shards[0]);
    await writeSafetensors(join(d, 'model-00002-of-00002.safetensors'), shards[1]);
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const src = await openModelSource(d);
    expect(src.names().sort()).toEqual([...names].sort());
    for (const n of names) expect(Array.from(src.readF32(n))).toEqual(Array.from(st.readF32(n)));
    // an index pointing at the wrong shard is a corrupt folder
    const [first] = names;
    weightMap[first] = weightMap[first].includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    await expectGraftError(() => openModelSource(d), 'BAD_FILE', 'model.safetensors.index.json', first);
  });

  it('unknown architecture is UNSUPPORTED naming the file and the architecture', async () => {
    const d = tmp('arch');
    const cfg = JSON.parse(readFileSync(`${FIX}/llama/model/config.json`, 'utf8'));
    cfg.architectures = ['GPT2LMHeadModel'];
    writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    copyFileSync(`${FIX}/llama/model/model.safetensors`, join(d, 'model.safetensors'));
    await expectGraftError(() => openModelSource(d), 'UNSUPPORTED', join(d, 'config.json'), 'GPT2LMHeadModel');
  });

  it('missing tensor is NOT_FOUND naming the model and tensor; corrupt shard is BAD_FILE', async () => {
    const src = await openModelSource(`${FIX}/llama/model`);
    await expectGraftError(() => src.readF32('model.layers.7.mlp.up_proj.weight'), 'NOT_FOUND', `${FIX}/llama/model`, 'model.layers.7.mlp.up_proj.weight');
    const d = tmp('corrupt');
    copyFileSync(`${FIX}/llama/model/config.json`, join(d, 'config.json'));
    const bytes = readFileSync(`${FIX}/llama/model/model.safetensors`);
    writeFileSync(join(d, 'model.safetensors'), bytes.subarray(0, bytes.length / 2));
    await expectGraftError(() => openModelSource(d), 'BAD_FILE', join(d, 'model.safetensors'), 'tensor ');
    await expectGraftError(() => openModelSource(join(d, 'nope')), 'NOT_FOUND', 'nope');
  });
});

describe('openModelSource: GGUF', () => {
  it('stories260K: synthesized config, HF names and shapes', async () => {
    const src = await openModelSource(STORIES);
    const c = src.config;
    expect(src.format).toBe('gguf');
    expect(c.architectures).toEqual(['LlamaForCausalLM']);
    expect([c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.head_dim]).toEqual([64, 172, 5, 8, 4, 8]);
    expect(c.vocab_size).toBe(512);
    expect(c.tie_word_embeddings).toBe(false);
    expect(c.rms_norm_eps).toBeCloseTo(1e-5, 9);
    expect(c.rope_theta).toBe(10000);
    expect(c.max_position_embeddings).toBe(2048);
    expect([c.bos_token_id, c.eos_token_id]).toEqual([1, 2]);
    expect(src.names()).toContain('model.layers.4.mlp.gate_proj.weight');
    expect(src.names()).toHaveLength(3 + 5 * 9);
    expect(src.shape('model.layers.0.self_attn.k_proj.weight')).toEqual([32, 64]);
    expect(src.shape('model.layers.0.mlp.down_proj.weight')).toEqual([64, 172]);
    expect(src.dtype('lm_head.weight')).toBe('F32');
    src.close();
  });

  it('undoes the Q/K permutation with n_head for Q and n_head_kv for K; other tensors untouched', async () => {
    const src = await openModelSource(STORIES);
    const g = openGguf(STORIES);
    expect(Array.from(src.readF32('model.layers.2.self_attn.q_proj.weight'))).toEqual(Array.from(unpermuteRows(g.readF32('blk.2.attn_q.weight'), 64, 64, 8)));
    expect(Array.from(src.readF32('model.layers.2.self_attn.k_proj.weight'))).toEqual(Array.from(unpermuteRows(g.readF32('blk.2.attn_k.weight'), 32, 64, 4)));
    expect(Array.from(src.readF32('model.layers.2.self_attn.v_proj.weight'))).toEqual(Array.from(g.readF32('blk.2.attn_v.weight')));
    expect(Array.from(src.readF32('model.layers.2.self_attn.q_proj.weight'))).not.toEqual(Array.from(g.readF32('blk.2.attn_q.weight')));
  });

  it('tied embeddings when there is no output tensor; unknown GGUF architecture is UNSUPPORTED', async () => {
    const g = openGguf(STORIES);
    const d = tmp('gg');
    const md = { ...g.metadata };
    const tensors = g.names().filter((n) => n !== 'output.weight').map((n) => ({ name: n, shape: g.info(n).shape, type: 'F32' as const, data: g.readF32(n) }));
    await writeGguf(join(d, 'tied.gguf'), md, tensors);
    const src = await openModelSource(join(d, 'tied.gguf'));
    expect(src.config.tie_word_embeddings).toBe(true);
    expect(src.has('lm_head.weight')).toBe(false);
    await writeGguf(join(d, 'gpt.gguf'), { ...md, 'general.architecture': 'gpt2' }, tensors);
    await expectGraftError(() => openModelSource(join(d, 'gpt.gguf')), 'UNSUPPORTED', join(d, 'gpt.gguf'), 'gpt2');
  });
});

describe('GGUF Llama 3 rope scaling (rope_freqs tensor)', () => {
  it('recovers llama3 rope parameters from rope_freqs, refuses factors it cannot explain', async () => {
    const { llama3RopeFactors } = await import('../../../src-main/engine/io/gguf-hf.js');
    const g = openGguf(STORIES);
    const d = tmp('rope');
    const params = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const tensors = g.names().map((n) => ({ name: n, shape: g.info(n).shape, type: 'F32' as const, data: g.readF32(n) }));
    const theta = 500000;
    const factors = llama3RopeFactors(8, theta, params);
    expect(factors[0]).toBe(1); // highest frequency untouched
    expect(factors[3]).toBe(8); // lowest frequency divided by the factor
    await writeGguf(join(d, 'l3.gguf'), { ...g.metadata, 'llama.rope.freq_base': theta }, [...tensors, { name: 'rope_freqs.weight', shape: [4], type: 'F32', data: factors }]);
    const src = await openModelSource(join(d, 'l3.gguf'));
    expect(src.config.rope_scaling).toEqual({ rope_type: 'llama3', ...params });
    expect(src.config.rope_parameters).toEqual({ rope_theta: theta, rope_type: 'llama3', ...params });
    expect(src.names()).not.toContain('rope_freqs.weight');
    await writeGguf(join(d, 'odd.gguf'), g.metadata, [...tensors, { name: 'rope_freqs.weight', shape: [4], type: 'F32', data: Float32Array.from([1, 3, 1, 2]) }]);
    await expectGraftError(() => openModelSource(join(d, 'odd.gguf')), 'UNSUPPORTED', 'odd.gguf', 'rope_freqs');
  });
});

describe('openModelSource: config checked against the stored tensors (issue 15 items 2, 3, 5)', () => {
  const storiesTensors = () => {
    const g = openGguf(STORIES);
    return { md: { ...g.metadata }, tensors: g.names().map((n) => ({ name: n, shape: g.info(n).shape, type: 'F32' as const, data: g.readF32(n) })) };
  };

  it('refuses GGUF weights stored as an integer ggml type, naming the tensor', async () => {
    const { md, tensors } = storiesTensors();
    const d = tmp('i8');
    const i8 = tensors.map((t) => (t.name === 'blk.1.ffn_up.weight' ? { ...t, type: 24, data: new Uint8Array(t.data.length) } : t));
    await writeGguf(join(d, 'i8.gguf'), md, i8);
    await expectGraftError(() => openModelSource(join(d, 'i8.gguf')), 'BAD_FILE', join(d, 'i8.gguf'), 'model.layers.1.mlp.up_proj.weight', 'I8');
  });

  it('refuses a block_count smaller than the layers stored, and 2^31 at once', async () => {
    const { md, tensors } = storiesTensors();
    const d = tmp('blocks');
    await writeGguf(join(d, 'fewer.gguf'), { ...md, 'llama.block_count': 3 }, tensors);
    await expectGraftError(() => openModelSource(join(d, 'fewer.gguf')), 'BAD_FILE', join(d, 'fewer.gguf'), 'llama.block_count', 'says 3 layers', 'stores 5');
    await writeGguf(join(d, 'huge.gguf'), { ...md, 'llama.block_count': 2 ** 31 }, tensors);
    const t0 = Date.now();
    await expectGraftError(() => openModelSource(join(d, 'huge.gguf')), 'BAD_FILE', join(d, 'huge.gguf'), 'llama.block_count', '2147483648');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('refuses a config.json whose numbers disagree with the tensors, naming the key or tensor', async () => {
    const base = JSON.parse(readFileSync(`${FIX}/llama/model/config.json`, 'utf8'));
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ num_hidden_layers: 2 ** 31 }, ['num_hidden_layers', '2147483648']],
      [{ num_hidden_layers: 1 }, ['num_hidden_layers says 1 layers']],
      [{ hidden_size: 48 }, ['tensor model.', 'shape']],
      [{ num_key_value_heads: 3 }, ['num_key_value_heads']],
      [{ vocab_size: 100 }, ['model.embed_tokens.weight', 'shape']],
      [{ rms_norm_eps: -1 }, ['rms_norm_eps']],
    ];
    for (const [change, mentions] of cases) {
      const d = tmp('cfg');
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...base, ...change }));
      copyFileSync(`${FIX}/llama/model/model.safetensors`, join(d, 'model.safetensors'));
      await expectGraftError(() => openModelSource(d), 'BAD_FILE', d, ...mentions);
    }
  });
});
