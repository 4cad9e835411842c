import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextStream } from '../../../src-main/engine/infer/text-stream.js';
import { Sampler } from '../../../src-main/engine/infer/sampling.js';
import { loadTokenizer } from '../../../src-main/engine/tokenize/load.js';

const SMOL = path.resolve(import.meta.dirname, '../../../../shared/models/smollm2-135m-instruct-tokenizer');

describe('streaming text with stop strings', async () => {
  const tok = (await loadTokenizer(SMOL))!;

  it('stops on a stop string split across tokens and never emits any of it', () => {
    const text = 'The answer is forty-two. ### END of answer, more text';
    const ids = tok.encode(text, { addSpecial: false });
    const stop = '## END';
    // the stop string really is split across tokens here
    const pieces = ids.map((i) => tok.decode([i]));
    expect(pieces.some((p) => p.includes(stop))).toBe(false);
    const s = new TextStream(tok, [stop]);
    let out = '';
    let used = 0;
    for (const id of ids) {
      out += s.push(id);
      used++;
      if (s.stopped) break;
    }
    out += s.flush();
    expect(s.stopped).toBe(stop);
    expect(out).toBe('The answer is forty-two. #');
    expect(used).toBeLessThan(ids.length);
  });

  it('holds back an incomplete UTF-8 sequence until it completes', () => {
    const text = 'ok 🙂 done';
    const s = new TextStream(tok, []);
    const deltas = tok.encode(text, { addSpecial: false }).map((id) => s.push(id));
    expect(deltas.join('') + s.flush()).toBe(text);
    expect(deltas.every((d) => !d.includes('\uFFFD'))).toBe(true);
  });
});

describe('sampler', () => {
  const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);
  it('temperature 0 is argmax', () => expect(new Sampler({ temperature: 0 }).sample(logits, [])).toBe(1));
  it('top-k 1 is argmax at any temperature', () => expect(new Sampler({ temperature: 5, topK: 1, seed: 3 }).sample(logits, [])).toBe(1));
  it('repetition penalty moves greedy off a repeated token', () => expect(new Sampler({ temperature: 0, repetitionPenalty: 1.5 }).sample(logits, [1])).toBe(4));
  it('presence penalty subtracts once per present token', () => expect(new Sampler({ temperature: 0, presencePenalty: 1.5 }).sample(logits, [1, 4])).toBe(2));
  it('min-p keeps only tokens near the top', () => {
    const s = new Sampler({ temperature: 1, minP: 0.9, seed: 1 });
    const draws = new Set(Array.from({ length: 50 }, () => s.sample(logits, [])));
    expect([...draws].sort()).toEqual([1, 4]);
  });
  it('top-p keeps the smallest set reaching the mass', () => {
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 2 });
    const draws = new Set(Array.from({ length: 50 }, () => s.sample(logits, [])));
    expect([...draws].every((d) => d === 1 || d === 4)).toBe(true);
  });
  it('a seed makes sampling reproducible', () => {
    const a = new Sampler({ temperature: 1, seed: 9 });
    const b = new Sampler({ temperature: 1, seed: 9 });
    const xs = Array.from({ length: 20 }, () => a.sample(logits, []));
    expect(Array.from({ length: 20 }, () => b.sample(logits, []))).toEqual(xs);
  });
});
