import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, loadTokenizerFromGguf } from '../../../src-main/engine/tokenize/load.js';
import { spmMerges } from '../../../src-main/engine/tokenize/gguf-tokenizer.js';
import { openGguf } from '../../../src-main/engine/io/gguf.js';
import { openModelSource } from '../../../src-main/engine/io/model-source.js';
import type { GgufValue } from '../../../src-main/engine/io/gguf-types.js';
import { GraftError } from '../../../src-main/engine/errors.js';

const STORIES = '/work/shared/models/stories260K/stories260K.gguf';
const SMOL = '/work/shared/models/smollm2-135m-instruct-tokenizer';

const TRICKY = [
  'Hello, world!',
  'emoji 🙂👩‍👩‍👧 done',
  '中文和日本語のテキスト',
  'tabs\tand   runs     of spaces\n\n\nnewlines  ',
  '   leading and trailing   ',
  "it's 12345 o'clock, café naïve",
  '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
];

/**
 * Reference SentencePiece BPE (what llama.cpp's SPM tokenizer does): start from characters, repeatedly merge
 * the adjacent pair whose concatenation is the highest-scoring vocabulary piece (leftmost on ties);
 * characters not in the vocabulary become <0xXX> byte tokens.
 */
function referenceSpm(text: string, tokens: string[], scores: number[], types: number[]): number[] {
  const id = new Map<string, number>();
  tokens.forEach((t, i) => { if (types[i] === 1 && !id.has(t)) id.set(t, i); });
  let syms = Array.from('▁' + text.replaceAll(' ', '▁'));
  for (;;) {
    let best = -1, bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const t = id.get(syms[i] + syms[i + 1]);
      if (t !== undefined && scores[t] > bestScore) { best = i; bestScore = scores[t]; }
    }
    if (best < 0) break;
    syms = [...syms.slice(0, best), syms[best] + syms[best + 1], ...syms.slice(best + 2)];
  }
  return syms.flatMap((s) => id.has(s) ? [id.get(s)!] : Array.from(Buffer.from(s, 'utf8'), (b) => tokens.indexOf(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)));
}

describe('GGUF SentencePiece tokenizer (stories260K)', () => {
  it('BOS=1, EOS=2, vocab 512; encode/decode round trip', async () => {
    const tok = (await loadTokenizer(STORIES))!;
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([2]);
    expect(tok.vocabSize).toBe(512);
    const ids = tok.encode('Once upon a time');
    expect(ids[0]).toBe(1);
    expect(ids.slice(1).map((i) => tok.tokenText(i))).toEqual(['▁Once', '▁upon', '▁a', '▁time']);
    expect(tok.decode(ids, { skipSpecial: true })).toBe('Once upon a time');
    expect(tok.encode('Once upon a time', { addSpecial: false })).toEqual(ids.slice(1));
    for (const t of TRICKY.slice(0, 6)) expect(tok.decode(tok.encode(t), { skipSpecial: true })).toBe(t);
  });

  it('decodes ids of the model vocab, byte tokens included', async () => {
    const tok = (await loadTokenizer(STORIES))!;
    const g = openGguf(STORIES);
    const pieces = g.metadata['tokenizer.ggml.tokens'] as string[];
    const lily = pieces.indexOf('▁Lily');
    expect(lily).toBeGreaterThan(258);
    expect(tok.decode([1, pieces.indexOf('▁Once'), lily, pieces.indexOf('.')], { skipSpecial: true })).toBe('Once Lily.');
    expect(tok.decode([pieces.indexOf('<0xE6>'), pieces.indexOf('<0x97>'), pieces.indexOf('<0xA5>')])).toBe('日');
    expect(tok.decode([pieces.indexOf('▁upon'), 2])).toBe('upon</s>');
  });

  it('matches a reference SentencePiece BPE on varied text', async () => {
    const g = openGguf(STORIES);
    const md = g.metadata;
    const tok = loadTokenizerFromGguf(md, STORIES)!;
    const [tokens, scores, types] = ['tokens', 'scores', 'token_type'].map((k) => md[`tokenizer.ggml.${k}`]) as [string[], number[], number[]];
    const texts = [
      'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
      'One day, she saw a big, red ball. "Can I play?" asked Tom happily!',
      'The cat sat on the mat and thought about fish 42 times; then slept.',
      'naïve café 日本 🙂',
    ];
    for (const t of texts) expect(tok.encode(t, { addSpecial: false })).toEqual(referenceSpm(t, tokens, scores, types));
  });

  it('tokenizer.ggml.add_space_prefix=false drops the dummy prefix', () => {
    const md = { ...openGguf(STORIES).metadata, 'tokenizer.ggml.add_space_prefix': false };
    const tok = loadTokenizerFromGguf(md, STORIES)!;
    const ids = tok.encode('Once upon', { addSpecial: false });
    expect(tok.tokenText(ids[0])).not.toMatch(/^▁/);
    expect(tok.decode(ids)).toBe('Once upon');
  });

  it('WeightSource.tokenizer() of a GGUF model gives the same tokenizer', async () => {
    const src = await openModelSource(STORIES);
    const tok = (await src.tokenizer())!;
    expect(tok.encode('Once upon a time')).toEqual([1, ...(await loadTokenizer(STORIES))!.encode('Once upon a time', { addSpecial: false })]);
  });
});

describe('SentencePiece merges from a hostile vocabulary (issue 15 item 3)', () => {
  /** The definition: every split of every usable piece into two usable pieces, ranked by score, then ids. */
  function referenceMerges(tokens: string[], scores: number[], types: number[], vocab: Record<string, number>): string[][] {
    const usable = (id: number | undefined) => id !== undefined && (types[id] === 1 || types[id] === 4);
    const all: Array<{ l: string; r: string; score: number; li: number; ri: number }> = [];
    tokens.forEach((piece, id) => {
      if (!usable(id)) return;
      const chars = Array.from(piece);
      const local = [];
      for (let k = 1; k < chars.length; k++) {
        const l = chars.slice(0, k).join(''), r = chars.slice(k).join('');
        if (usable(vocab[l]) && usable(vocab[r])) local.push({ l, r, score: scores[id], li: vocab[l], ri: vocab[r] });
      }
      local.sort((a, b) => a.li - b.li || a.ri - b.ri);
      all.push(...local);
    });
    all.sort((a, b) => b.score - a.score);
    return all.map((m) => [m.l, m.r]);
  }
  const vocabOf = (tokens: string[]) => {
    const v: Record<string, number> = {};
    tokens.forEach((t, i) => { if (!(t in v)) v[t] = i; });
    return v;
  };

  it('gives exactly the merges of the definition (stories260K, and pieces with surrogate pairs and duplicates)', () => {
    const md = openGguf(STORIES).metadata;
    const [tokens, scores, types] = ['tokens', 'scores', 'token_type'].map((k) => md[`tokenizer.ggml.${k}`]) as [string[], number[], number[]];
    expect(spmMerges(tokens, scores, types, vocabOf(tokens))).toEqual(referenceMerges(tokens, scores, types, vocabOf(tokens)));
    const odd = ['a', '🙂', 'a🙂', '🙂a', 'a🙂a', 'b', 'ab', 'ab', 'bab', '\ud83d'];
    const oddScores = odd.map((_, i) => -i % 3);
    const oddTypes = odd.map((_, i) => (i === 5 ? 3 : 1));
    expect(spmMerges(odd, oddScores, oddTypes, vocabOf(odd))).toEqual(referenceMerges(odd, oddScores, oddTypes, vocabOf(odd)));
  });

  it('converts a vocabulary holding a 40,000-character entry in under 3 s (56 s with the quadratic split)', () => {
    const md = { ...openGguf(STORIES).metadata };
    const tokens = [...(md['tokenizer.ggml.tokens'] as string[])];
    tokens[tokens.length - 1] = 'e'.repeat(40_000);
    const t0 = performance.now();
    const tok = loadTokenizerFromGguf({ ...md, 'tokenizer.ggml.tokens': tokens }, STORIES)!;
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(tok.encode('Once upon', { addSpecial: false }).length).toBeGreaterThan(0);
  });
});

describe('tokenizer.json tokenizer (SmolLM2)', () => {
  it('round-trips tricky text exactly and keeps special tokens whole', async () => {
    const tok = (await loadTokenizer(SMOL))!;
    expect(tok.vocabSize).toBe(49152);
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([2]);
    for (const t of TRICKY) expect(tok.decode(tok.encode(t))).toBe(t);
    const ids = tok.encode('<|im_start|>user\nHi<|im_end|>');
    expect(ids[0]).toBe(1);
    expect(ids[ids.length - 1]).toBe(2);
    expect(tok.tokenText(1)).toBe('<|im_start|>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('user\nHi');
    // digits are split one by one by this tokenizer's pre-tokenizer
    expect(tok.encode('12345').map((i) => tok.tokenText(i))).toEqual(['1', '2', '3', '4', '5']);
  });

  it('takes special tokens and the chat template from tokenizer_config.json or chat_template.jinja', async () => {
    const d = mkdtempSync(join(tmpdir(), 'graft-tok-'));
    copyFileSync(`${SMOL}/tokenizer.json`, join(d, 'tokenizer.json'));
    copyFileSync(`${SMOL}/config.json`, join(d, 'config.json'));
    const template = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}";
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|im_start|>', eos_token: { content: '<|endoftext|>' }, chat_template: template }));
    let tok = (await loadTokenizer(d))!;
    expect(tok.chatTemplate).toBe(template);
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([0, 2]); // tokenizer_config's eos_token, then config.json's eos_token_id
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
    writeFileSync(join(d, 'chat_template.jinja'), template);
    tok = (await loadTokenizer(d))!;
    expect(tok.chatTemplate).toBe(template);
    expect(tok.eosIds).toEqual([2]);
  });

  it('the same vocabulary carried as GGUF gpt2 metadata tokenizes identically', async () => {
    const tok = (await loadTokenizer(SMOL))!;
    const tj = JSON.parse(readFileSync(`${SMOL}/tokenizer.json`, 'utf8'));
    const tokens: string[] = [];
    for (const [t, i] of Object.entries(tj.model.vocab as Record<string, number>)) tokens[i] = t;
    const types = tokens.map(() => 1);
    for (const a of tj.added_tokens) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
    const md: Record<string, GgufValue> = {
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'smollm',
      'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.token_type': types,
      'tokenizer.ggml.merges': (tj.model.merges as Array<string | string[]>).map((m) => (Array.isArray(m) ? m.join(' ') : m)),
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.chat_template': '{{ bos_token }}',
    };
    const g = loadTokenizerFromGguf(md, 'smollm.gguf')!;
    expect(g.chatTemplate).toBe('{{ bos_token }}');
    for (const t of TRICKY) {
      expect(g.encode(t)).toEqual(tok.encode(t));
      expect(g.decode(g.encode(t))).toBe(t);
    }
    // the llama3 and qwen2 split regexes compile and keep byte-level round trips exact
    for (const pre of ['llama-bpe', 'qwen2', 'default']) {
      const other = loadTokenizerFromGguf({ ...md, 'tokenizer.ggml.pre': pre }, `${pre}.gguf`)!;
      for (const t of TRICKY) expect(other.decode(other.encode(t))).toBe(t);
      expect(other.encode('Hello world', { addSpecial: false })).toEqual(tok.encode('Hello world', { addSpecial: false }));
    }
  });

  it('unknown GGUF tokenizer model is UNSUPPORTED naming the file', () => {
    try {
      loadTokenizerFromGguf({ 'tokenizer.ggml.model': 'rwkv', 'tokenizer.ggml.tokens': ['a'] }, 'x.gguf');
      throw new Error('expected an error');
    } catch (err) {
      expect((err as GraftError).code).toBe('UNSUPPORTED');
      expect((err as GraftError).message).toContain('x.gguf');
    }
  });
});
