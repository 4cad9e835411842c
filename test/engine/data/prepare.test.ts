import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { formatSummary } from '../../../src-main/cli/commands/dataset-summary.js';
import { inspectDataset } from '../../../src-main/engine/data/inspect.js';
import { packExamples, splitTrainVal } from '../../../src-main/engine/data/pack-split.js';
import { fileSha256, prepareDataset } from '../../../src-main/engine/data/prepare.js';
import { previewDataset } from '../../../src-main/engine/data/preview.js';
import { smolTokenizer } from './smol-tokenizer.js';

const tok = smolTokenizer();
const dir = mkdtempSync(join(tmpdir(), 'graft-prep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeChats(name: string, n: number, long = -1): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const reply = i === long ? 'word '.repeat(300) : `answer number ${i}`;
    lines.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `question ${i}` },
          { role: 'assistant', content: reply },
        ],
      }),
    );
  }
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n'));
  return p;
}

describe('summary', () => {
  test('histogram and truncation count at the chosen sequence length', async () => {
    const p = writeChats('h.jsonl', 20, 4);
    const s = await inspectDataset(p, { tokenizer: tok, seqLen: 64 });
    const t = s.tokens!;
    expect(s.kept).toBe(20);
    expect(t.truncated).toBe(1);
    expect(t.max).toBeGreaterThan(300);
    expect(t.histogram.reduce((a, b) => a + b.count, 0)).toBe(20);
    expect(t.histogram.find((b) => b.upTo === 32)!.count).toBe(19);
    expect(t.histogram.find((b) => b.upTo === 512)!.count).toBe(1);
    const text = formatSummary(s).join('\n');
    expect(text).toContain('1 rows are longer than --seq-len 64');
    expect(text).toContain('warning: the model has no chat template');
  });
});

describe('prepare', () => {
  test('seeded split is stable and disjoint; hash is of the bytes', async () => {
    const p = writeChats('s.jsonl', 50);
    const a = await prepareDataset(p, tok, { seqLen: 64, valSplit: 0.2, seed: 7 });
    const b = await prepareDataset(p, tok, { seqLen: 64, valSplit: 0.2, seed: 7 });
    const c = await prepareDataset(p, tok, { seqLen: 64, valSplit: 0.2, seed: 8 });
    expect(a.val).toHaveLength(10);
    expect(a.train).toHaveLength(40);
    expect(a.val.map((e) => e.line)).toEqual(b.val.map((e) => e.line));
    expect(a.val.map((e) => e.line)).not.toEqual(c.val.map((e) => e.line));
    const trainLines = new Set(a.train.map((e) => e.line));
    expect(a.val.some((e) => trainLines.has(e.line))).toBe(false);
    expect(a.sha256).toBe(await fileSha256(p));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('packing fills windows without splitting examples and keeps every mask bit', async () => {
    const p = writeChats('p.jsonl', 30);
    const plain = await prepareDataset(p, tok, { seqLen: 64 });
    const packed = await prepareDataset(p, tok, { seqLen: 64, pack: true });
    expect(packed.train.length).toBeLessThan(plain.train.length / 2);
    expect(packed.train.every((e) => e.ids.length <= 64)).toBe(true);
    const flat = (xs: { ids: Int32Array }[]) => xs.flatMap((e) => Array.from(e.ids));
    expect(flat(packed.train)).toEqual(flat(plain.train));
    const bits = (xs: { mask: Uint8Array }[]) => xs.reduce((n, e) => n + e.mask.reduce((a, b) => a + b, 0), 0);
    expect(bits(packed.train)).toBe(bits(plain.train));
    expect(packExamples([], 8)).toEqual([]);
  });

  test('split with one example keeps it for training', () => {
    expect(splitTrainVal([1], 0.5, 1)).toEqual({ train: [1], val: [] });
  });
});

describe('preview', () => {
  test('returns the first rendered examples with trained spans marked', async () => {
    const p = writeChats('v.jsonl', 10);
    const ex = await previewDataset(p, tok, { count: 3 });
    expect(ex).toHaveLength(3);
    expect(ex.map((e) => e.line)).toEqual([1, 2, 3]);
    expect(ex[1].text).toBe('<|im_start|>user\nquestion 1<|im_end|>\n<|im_start|>assistant\nanswer number 1<|im_end|>\n');
    expect(ex[1].segments).toEqual([
      { text: '<|im_start|>user\nquestion 1<|im_end|>\n<|im_start|>assistant\n', trained: false },
      { text: 'answer number 1<|im_end|>', trained: true },
      { text: '\n', trained: false },
    ]);
    expect(ex[1].trainedTokens).toBe(tok.encode('answer number 1<|im_end|>').length);
  });
});

describe('long rows (issue 15 item 3)', () => {
  test('a 4 MB row is tokenized only as far as the window needs, with the same tokens', async () => {
    const words = Array.from({ length: 1_100_000 }, (_, i) => `w${i % 97} `).join('');
    expect(words.length).toBeGreaterThan(4_000_000);
    const p = join(dir, 'huge.jsonl');
    writeFileSync(p, JSON.stringify({ text: words }) + '\n' + JSON.stringify({ text: 'short one' }) + '\n');
    const t0 = performance.now();
    const prepared = await prepareDataset(p, tok, { seqLen: 128 });
    expect(performance.now() - t0).toBeLessThan(3000);
    const [long] = [...prepared.train, ...prepared.val].filter((e) => e.line === 1);
    expect(long.ids.length).toBe(128);
    const head = tok.encode(words.slice(0, 5000), { addSpecial: false }).slice(0, 127);
    expect(Array.from(long.ids)).toEqual([1, ...head]);
  });

  test('a long chat is cut with its trained span: the same ids and mask as tokenizing it whole', async () => {
    const p = writeChats('longchat.jsonl', 3, 1);
    const cut = await prepareDataset(p, tok, { seqLen: 48 });
    const whole = await prepareDataset(p, tok, { seqLen: 48, maxTokens: 1_000_000 });
    expect(cut.train.map((e) => [Array.from(e.ids), Array.from(e.mask)])).toEqual(whole.train.map((e) => [Array.from(e.ids), Array.from(e.mask)]));
  });
});
