import { describe, expect, it } from 'vitest';
import { chainLength } from '../../../src-main/engine/infer/generate.js';

describe('greedy chain lengths', () => {
  it('start at 8 steps and double each chain up to the longest', () => {
    expect([0, 1, 2, 3, 4, 10].map((k) => chainLength(k, 32))).toEqual([8, 16, 32, 32, 32, 32]);
  });
  it('never pass a shorter longest, down to a read after every step', () => {
    expect([0, 1, 2].map((k) => chainLength(k, 8))).toEqual([8, 8, 8]);
    expect([0, 5].map((k) => chainLength(k, 4))).toEqual([4, 4]);
    expect([0, 5].map((k) => chainLength(k, 1))).toEqual([1, 1]);
  });
  it('defaults to chains of up to 32 and reads GRAFT_GREEDY_CHAIN', () => {
    const was = process.env.GRAFT_GREEDY_CHAIN;
    try {
      delete process.env.GRAFT_GREEDY_CHAIN;
      expect(chainLength(5)).toBe(32);
      process.env.GRAFT_GREEDY_CHAIN = '16';
      expect(chainLength(5)).toBe(16);
    } finally {
      if (was === undefined) delete process.env.GRAFT_GREEDY_CHAIN;
      else process.env.GRAFT_GREEDY_CHAIN = was;
    }
  });
});
