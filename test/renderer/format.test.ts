/** Reply figures read as English at any count (issue 18: "1 tokens/s"). */
import { describe, expect, it } from 'vitest';
import { formatReplyStats } from '../../src-renderer/lib/format';

describe('formatReplyStats', () => {
  it('says "1 token" and gives no speed for a one-token reply', () => {
    expect(formatReplyStats({ tokens: 1, tokensPerSecond: 0, ttftMs: 12.4 })).toBe('1 token · first after 12 ms');
  });
  it('gives the count and speed of longer replies, with a decimal below 10 tokens/s', () => {
    expect(formatReplyStats({ tokens: 12, tokensPerSecond: 30.4, ttftMs: 723 })).toBe('12 tokens · 30 tokens/s · first after 723 ms');
    expect(formatReplyStats({ tokens: 5, tokensPerSecond: 1.26, ttftMs: 900 })).toBe('5 tokens · 1.3 tokens/s · first after 900 ms');
  });
});
