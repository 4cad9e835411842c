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
  it('keeps a chain to ~150 ms at the last chain\'s time a step, never below 8 steps (or a shorter longest)', () => {
    expect(chainLength(3, 32, 4)).toBe(32); // 0.5B: 4 ms a step, 37 fit
    expect(chainLength(3, 32, 6)).toBe(25); // 1.5B
    expect(chainLength(3, 32, 10)).toBe(15); // an 8B
    expect(chainLength(3, 32, 40)).toBe(8); // never below the first chain's 8
    expect(chainLength(1, 32, 4)).toBe(16); // still grown chain by chain
    expect(chainLength(3, 4, 40)).toBe(4);
    expect(chainLength(3, 32, 0)).toBe(32); // no time yet
    expect(chainLength(3, 32, 40, 0)).toBe(32); // no cap (GRAFT_CHAIN_BURST_MS=0)
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
