import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { writeGguf } from '../../../src-main/engine/io/gguf-write.js';
import { GgmlType, GgufValueType, gguf } from '../../../src-main/engine/io/gguf-types.js';
import { ggufToHfName, hfToGgufName, permuteRows, unpermuteRows } from '../../../src-main/engine/io/gguf-hf.js';
import { STORIES, expectGraftError, tmp } from './helpers.js';

describe('GGUF reader', () => {
  it('reads stories260K metadata and tensor table', () => {
    const g = openGguf(STORIES);
    expect(g.version).toBe(3);
    expect(g.metadata['general.architecture']).toBe('llama');
    expect(g.metadata['llama.block_count']).toBe(5);
    expect((g.metadata['tokenizer.ggml.tokens'] as string[]).length).toBe(512);
    expect(g.info('blk.0.attn_k.weight').dims).toEqual([64, 32]);
    expect(g.info('blk.0.attn_k.weight').shape).toEqual([32, 64]);
    expect(g.readF32('output_norm.weight').length).toBe(64);
    g.close();
  });

  it('truncated or corrupt files are BAD_FILE naming the file (and tensor)', async () => {
    const d = tmp('gguf');
    const full = readFileSync(STORIES);
    const cut = (n: number, name: string) => { const p = join(d, name); writeFileSync(p, full.subarray(0, n)); return p; };
    const p1 = cut(200, 'header.gguf');
    await expectGraftError(() => openGguf(p1), 'BAD_FILE', p1, 'truncated');
    const p2 = cut(full.length - 10, 'data.gguf');
    const e = await expectGraftError(() => openGguf(p2), 'BAD_FILE', p2, 'blk.4.ffn_norm.weight');
    expect(e.where).toBe('blk.4.ffn_norm.weight');
    const p3 = join(d, 'magic.gguf');
    writeFileSync(p3, Buffer.concat([Buffer.from('GGML'), full.subarray(4)]));
    await expectGraftError(() => openGguf(p3), 'BAD_FILE', p3, 'magic');
    const p4 = join(d, 'count.gguf');
    const bad = Buffer.from(full);
    bad.writeBigUInt64LE(1n << 40n, 8); // absurd tensor count
    writeFileSync(p4, bad);
    await expectGraftError(() => openGguf(p4), 'BAD_FILE', p4);
  });

  it('missing tensor is NOT_FOUND naming file and tensor', async () => {
    const g = openGguf(STORIES);
    await expectGraftError(() => g.readF32('blk.9.attn_q.weight'), 'NOT_FOUND', STORIES, 'blk.9.attn_q.weight');
  });
});

describe('GGUF writer', () => {
  it('round-trips typed metadata, F32/F16 tensors and raw quantized blocks', async () => {
    const d = tmp('ggufw');
    const p = join(d, 'x.gguf');
    const w = Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1);
    const q8 = new Uint8Array(34 * 2);
    q8[0] = 0x00; q8[1] = 0x3c; // d = 1.0
    for (let i = 0; i < 32; i++) q8[2 + i] = i;
    await writeGguf(p, {
      'general.architecture': 'llama',
      'adapter.lora.alpha': gguf.f32(16),
      'some.count': 7,
      'some.flag': true,
      'some.list': ['a', 'b'],
      'some.ints': gguf.array(GgufValueType.INT32, [-1, 2]),
    }, [
      { name: 'a', shape: [3, 4], type: 'F32', data: w },
      { name: 'b', shape: [12], type: 'F16', data: w },
      { name: 'q', shape: [1, 64], type: GgmlType.Q8_0, data: q8 },
    ]);
    expect(readdirSync(d)).toEqual(['x.gguf']);
    const g = openGguf(p);
    expect(g.metadata['adapter.lora.alpha']).toBe(16);
    expect(g.metadataTypes['adapter.lora.alpha']).toBe(GgufValueType.FLOAT32);
    expect(g.metadataTypes['some.count']).toBe(GgufValueType.UINT32);
    expect(g.metadata['some.flag']).toBe(true);
    expect(g.metadata['some.list']).toEqual(['a', 'b']);
    expect(g.metadata['some.ints']).toEqual([-1, 2]);
    expect(g.info('a').dims).toEqual([4, 3]);
    expect(g.info('a').shape).toEqual([3, 4]);
    expect(Array.from(g.readF32('a'))).toEqual(Array.from(w));
    expect(Array.from(g.readF32('b'))).toEqual(Array.from(w)); // quarters are exact in f16
    const q = g.readF32('q');
    expect(q[5]).toBe(5);
    expect(q[40]).toBe(0);
    g.close();
  });

  it('round-trips a real model file tensor for tensor', async () => {
    const src = openGguf(STORIES);
    const p = join(tmp('ggufw'), 'copy.gguf');
    await writeGguf(p, src.metadata, src.names().map((n) => ({ name: n, shape: src.info(n).shape, type: 'F32' as const, data: src.readF32(n) })));
    const g = openGguf(p);
    expect(g.names()).toEqual(src.names());
    for (const n of src.names()) expect(Buffer.compare(g.readRaw(n), src.readRaw(n))).toBe(0);
    expect(g.metadata['tokenizer.ggml.tokens']).toEqual(src.metadata['tokenizer.ggml.tokens']);
    expect(g.metadata['llama.attention.layer_norm_rms_epsilon']).toBe(src.metadata['llama.attention.layer_norm_rms_epsilon']);
  });
});

describe('llama.cpp names and Q/K permutation', () => {
  it('maps names both ways', () => {
    expect(ggufToHfName('blk.3.attn_q.weight')).toBe('model.layers.3.self_attn.q_proj.weight');
    expect(ggufToHfName('blk.0.ffn_down.weight')).toBe('model.layers.0.mlp.down_proj.weight');
    expect(ggufToHfName('blk.0.attn_norm.weight')).toBe('model.layers.0.input_layernorm.weight');
    expect(ggufToHfName('blk.0.ffn_norm.weight')).toBe('model.layers.0.post_attention_layernorm.weight');
    expect(ggufToHfName('token_embd.weight')).toBe('model.embed_tokens.weight');
    expect(ggufToHfName('output.weight')).toBe('lm_head.weight');
    expect(ggufToHfName('output_norm.weight')).toBe('model.norm.weight');
    expect(ggufToHfName('rope_freqs.weight')).toBeNull();
    for (const n of ['blk.7.attn_k.bias', 'blk.1.attn_output.weight', 'blk.2.attn_q_norm.weight', 'token_embd.weight', 'output.weight']) {
      expect(hfToGgufName(ggufToHfName(n)!)).toBe(n);
    }
    expect(hfToGgufName('model.layers.0.self_attn.q_proj.lora_A.weight')).toBe('blk.0.attn_q.lora_A.weight');
  });

  it('permute matches reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2) and unpermute inverts it', () => {
    const rows = 8, cols = 3;
    const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols)); // value = HF row index
    const p = permuteRows(w, rows, cols, 2);
    // n_head=2, half=2: gguf row (h, i, j) <- hf row h*4 + j*2 + i
    expect(Array.from({ length: rows }, (_, r) => p[r * cols])).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(Array.from(unpermuteRows(p, rows, cols, 2))).toEqual(Array.from(w));
  });
});
