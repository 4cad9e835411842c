/**
 * Prefill lengths are powers of two (at least the bucket, at most the free context): on the WebGPU EP
 * every distinct length leaves its own set of buffers in the EP's cache (runtime/session.ts), so the
 * number of distinct lengths a long chat can produce must stay small.
 */
import { describe, expect, it } from 'vitest';
import { prefillLength } from '../../../src-main/engine/infer/decode-sessions.js';

describe('prefillLength', () => {
  it('rounds up to a power of two, never below the bucket nor the prompt, never above the limit', () => {
    expect(prefillLength(1, 16, 2048)).toBe(16);
    expect(prefillLength(16, 16, 2048)).toBe(16);
    expect(prefillLength(17, 16, 2048)).toBe(32);
    expect(prefillLength(300, 16, 2048)).toBe(512);
    expect(prefillLength(1500, 16, 1600)).toBe(1600);
    expect(prefillLength(1600, 16, 1600)).toBe(1600);
  });

  it('a prompt of any length up to 2,048 tokens runs at one of 8 lengths', () => {
    const lengths = new Set(Array.from({ length: 2048 }, (_, i) => prefillLength(i + 1, 16, 2048)));
    expect([...lengths].sort((a, b) => a - b)).toEqual([16, 32, 64, 128, 256, 512, 1024, 2048]);
  });
});
