import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { inspectDataset } from '../../../src-main/engine/data/inspect.js';
import { openDataset } from '../../../src-main/engine/data/readers.js';
import type { RowResult } from '../../../src-main/engine/data/types.js';
import { GraftError } from '../../../src-main/engine/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function all(path: string, opts = {}): Promise<{ format: string; rows: RowResult[] }> {
  const ds = await openDataset(path, opts);
  const rows: RowResult[] = [];
  for await (const r of ds.rows()) rows.push(r);
  return { format: ds.format, rows };
}

const chat = (u: string, a: string) => ({
  messages: [
    { role: 'user', content: u },
    { role: 'assistant', content: a },
  ],
});

describe('formats', () => {
  test('OpenAI messages JSONL', async () => {
    const p = file('m.jsonl', [chat('hi', 'hello'), chat('2+2?', '4')].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const { format, rows } = await all(p);
    expect(format).toBe('messages');
    expect(rows).toEqual([
      {
        line: 1,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: 'hello' },
          ],
        },
      },
      {
        line: 2,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: '2+2?' },
            { role: 'assistant', content: '4' },
          ],
        },
      },
    ]);
  });

  test('Alpaca JSON array, with and without input, line numbers per element', async () => {
    const p = file(
      'a.json',
      '[\n  {"instruction": "Add", "input": "2 and 3", "output": "5"},\n  {"instruction": "Say hi",\n   "output": "hi"}\n]\n',
    );
    const { format, rows } = await all(p);
    expect(format).toBe('alpaca');
    expect(rows).toEqual([
      {
        line: 2,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: 'Add\n\n2 and 3' },
            { role: 'assistant', content: '5' },
          ],
        },
      },
      {
        line: 3,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: 'Say hi' },
            { role: 'assistant', content: 'hi' },
          ],
        },
      },
    ]);
  });

  test('ShareGPT with system and unknown speaker', async () => {
    const good = {
      conversations: [
        { from: 'system', value: 'be brief' },
        { from: 'human', value: 'q' },
        { from: 'gpt', value: 'a' },
      ],
    };
    const bad = { conversations: [{ from: 'robot', value: 'x' }] };
    const { format, rows } = await all(file('s.jsonl', `${JSON.stringify(good)}\n${JSON.stringify(bad)}\n`));
    expect(format).toBe('sharegpt');
    expect(rows[0]).toEqual({
      line: 1,
      row: {
        kind: 'chat',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'q' },
          { role: 'assistant', content: 'a' },
        ],
      },
    });
    expect(rows[1]).toEqual({ line: 2, error: expect.stringContaining('"robot" is not a known speaker') });
  });

  test('text field JSONL and .txt split on blank lines', async () => {
    expect((await all(file('t.jsonl', '{"text":"one"}\n{"text":""}\n'))).rows).toEqual([
      { line: 1, row: { kind: 'text', text: 'one' } },
      { line: 2, error: "'text' is empty" },
    ]);
    const { format, rows } = await all(file('t.txt', 'Story one.\nStill one.\n\n\nStory two.\n'));
    expect(format).toBe('text');
    expect(rows).toEqual([
      { line: 1, row: { kind: 'text', text: 'Story one.\nStill one.' } },
      { line: 5, row: { kind: 'text', text: 'Story two.' } },
    ]);
    expect((await all(join(dir, 't.txt'), { textSplit: 'line' })).rows).toHaveLength(3);
  });

  test('CSV with auto mapping, quoted multi-line field, short row; TSV with explicit text column', async () => {
    const p = file('c.csv', 'prompt,response\n"multi\nline",yes\nonly-one-field\nq,a\n');
    const { format, rows } = await all(p);
    expect(format).toBe('csv');
    expect(rows).toEqual([
      {
        line: 2,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: 'multi\nline' },
            { role: 'assistant', content: 'yes' },
          ],
        },
      },
      { line: 4, error: expect.stringContaining('fewer than the header') },
      {
        line: 5,
        row: {
          kind: 'chat',
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: 'a' },
          ],
        },
      },
    ]);
    const t = await all(file('c.tsv', 'id\tbody\n1\thello world\n'), { columns: { text: 'body' } });
    expect(t.rows).toEqual([{ line: 2, row: { kind: 'text', text: 'hello world' } }]);
  });

  test('format override beats detection', async () => {
    const p = file('o.jsonl', '{"text": "x", "messages": "not a list"}\n');
    expect((await all(p)).rows[0]).toEqual({ line: 1, error: "'messages' must be an array, got a string" });
    expect((await all(p, { format: 'text' })).rows[0]).toEqual({ line: 1, row: { kind: 'text', text: 'x' } });
  });

  test('JSONL with unknown keys is mapped like CSV columns (issue 18 item 8)', async () => {
    const p = file('k.jsonl', ['{"q": "Who is Tim?", "a": "A boy."}', '{"q": "Where?"}', '{"q": "Ball?", "a": 3}'].join('\n') + '\n');
    const refused = await openDataset(p).catch((e: unknown) => e as GraftError);
    expect(refused).toBeInstanceOf(GraftError);
    expect((refused as GraftError).message).toMatch(/keys: q, a\).*map its keys with \{textColumn\}, or \{promptColumn\} and \{responseColumn\}/);
    const { format, rows } = await all(p, { columns: { prompt: 'q', response: 'a' } });
    expect(format).toBe('csv');
    expect(rows).toEqual([
      { line: 1, row: { kind: 'chat', messages: [{ role: 'user', content: 'Who is Tim?' }, { role: 'assistant', content: 'A boy.' }] } },
      { line: 2, error: 'the record has no key "a"' },
      { line: 3, row: { kind: 'chat', messages: [{ role: 'user', content: 'Ball?' }, { role: 'assistant', content: '3' }] } },
    ]);
    expect((await all(p, { format: 'csv', columns: { text: 'q' } })).rows[1]).toEqual({ line: 2, row: { kind: 'text', text: 'Where?' } });
    await expect(all(p, { columns: { text: 'body' } })).rejects.toThrow(/the text column "body" is not in the header \(columns: "q", "a"\)/);
  });
});

describe('validation', () => {
  test('a malformed line 5,812 in a 10,000-line file is reported by number, the rest kept', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 10_000; i++)
      lines.push(i === 5812 ? '{"messages": [{"role": "user", "content": "broken"' : JSON.stringify(chat(`q${i}`, `a${i}`)));
    const s = await inspectDataset(file('big.jsonl', lines.join('\n') + '\n'));
    expect(s.format).toBe('messages');
    expect(s.records).toBe(10_000);
    expect(s.kept).toBe(9_999);
    expect(s.dropped).toBe(1);
    expect(s.issues).toHaveLength(1);
    expect(s.issues[0].line).toBe(5812);
    expect(s.issues[0].reason).toMatch(/^invalid JSON/);
  });

  test('every bad row is listed with its own reason', async () => {
    const rows = [
      JSON.stringify(chat('ok', 'fine')),
      JSON.stringify({ messages: [{ role: 'user', content: 'no answer' }] }),
      JSON.stringify({
        messages: [
          { role: 'bot', content: 'x' },
          { role: 'assistant', content: 'y' },
        ],
      }),
      '[1,2]',
      JSON.stringify({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: '  ' },
        ],
      }),
    ];
    const s = await inspectDataset(file('bad.jsonl', rows.join('\r\n')));
    expect(s.kept).toBe(1);
    expect(s.issues.map((i) => i.line)).toEqual([2, 3, 4, 5]);
    expect(s.issues[0].reason).toContain('no assistant turn');
    expect(s.issues[1].reason).toContain('messages[0].role "bot"');
    expect(s.issues[2].reason).toContain('expected a JSON object, got an array');
    expect(s.issues[3].reason).toContain('messages[1] is an assistant turn with empty content');
  });

  test('empty file, whitespace-only file, binary file and CSV without the mapped column are refused clearly', async () => {
    const refuse = async (p: string, opts = {}) => {
      try {
        await all(p, opts);
      } catch (err) {
        expect(err).toBeInstanceOf(GraftError);
        return err as GraftError;
      }
      throw new Error(`${p} was accepted`);
    };
    const empty = await refuse(file('empty.jsonl', ''));
    expect(empty.message).toContain('empty.jsonl is empty');
    expect((await refuse(file('blank.jsonl', '\n  \n'))).message).toContain('empty (only whitespace)');
    const bin = await refuse(file('weights.jsonl', new Uint8Array([0x7b, 0x00, 0x01, 0xff, 0x10])));
    expect(bin.code).toBe('BAD_FILE');
    expect(bin.message).toMatch(/weights\.jsonl looks like a binary file/);
    const latin = await refuse(file('latin.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b])));
    expect(latin.message).toContain('not UTF-8');
    const csv = await refuse(file('cols.csv', 'question,reply\nq,a\n'), { columns: { prompt: 'question', response: 'answer' } });
    expect(csv.code).toBe('BAD_INPUT');
    expect(csv.message).toContain('the response column "answer" is not in the header (columns: "question", "reply")');
    expect(csv.where).toBe('line 1');
    const unmapped = await refuse(file('cols2.csv', 'foo,bar\n1,2\n'));
    expect(unmapped.message).toContain('no column mapping given');
    expect((await refuse(join(dir, 'missing.jsonl'))).code).toBe('NOT_FOUND');
  });

  test('a JSON array cut short is an error naming the line', async () => {
    const p = file('cut.json', '[\n{"text": "a"},\n{"text": "b"');
    await expect(all(p)).rejects.toThrow(/not closed/);
  });
});

describe('no silently altered rows (issue 15 item 2)', () => {
  // 2,000 lines of ~40 bytes: past the 64 KiB the sniffer reads
  const filler = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i + 1));
  const latin1 = (s: string) => Buffer.from(s, 'latin1'); // é as the single byte 0xE9: not UTF-8

  test('a line that is not UTF-8 after the first 64 KiB drops its row, reported at its line (JSONL, TXT, JSON, CSV)', async () => {
    const jsonl = filler(2000, (i) => JSON.stringify({ text: `row ${i} ${'x'.repeat(30)}` }));
    jsonl[1899] = '{"text": "caf\u00e9 1900"}';
    const j = await all(file('late.jsonl', latin1(jsonl.join('\n') + '\n')));
    expect(j.rows).toHaveLength(2000);
    expect(j.rows[1899]).toEqual({ line: 1900, error: 'line 1900 is not UTF-8 text' });
    expect(j.rows.filter((r) => 'error' in r)).toHaveLength(1);

    const txt = await all(file('late.txt', latin1(filler(2000, (i) => (i === 1900 ? 'caf\u00e9' : `document ${i} ${'y'.repeat(30)}\n`)).join('\n'))));
    expect(txt.rows.filter((r) => 'error' in r)).toEqual([{ line: 3799, error: 'line 3799 is not UTF-8 text' }]);

    const arr = filler(2000, (i) => JSON.stringify({ text: `row ${i} ${'z'.repeat(30)}` }));
    arr[1499] = '{\n"text": "caf\u00e9"}';
    const a = await all(file('late.json', latin1(`[\n${arr.join(',\n')}\n]\n`)));
    expect(a.rows.filter((r) => 'error' in r)).toEqual([{ line: 1501, error: 'line 1502 is not UTF-8 text' }]);
    expect(a.rows).toHaveLength(2000);

    const csv = ['prompt,response', ...filler(2000, (i) => (i === 1800 ? '"caf\u00e9\nau lait",oui' : `question ${i} ${'w'.repeat(20)},answer ${i}`))];
    const c = await all(file('late.csv', latin1(csv.join('\n') + '\n')));
    expect(c.rows.filter((r) => 'error' in r)).toEqual([{ line: 1801, error: 'malformed CSV: line 1801 is not UTF-8 text' }]);
    expect(c.rows).toHaveLength(2000);
  });

  test('a CSV stray quote drops only its own row, reported at the line where the quote opened', async () => {
    const p = file('stray.csv', 'prompt,response\nq1,a1\nq2,"a2 oops\nq3,a3\nq4,a4\nq5,a5 "x\nq6,a6\n');
    const { rows } = await all(p);
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(rows[1]).toEqual({ line: 3, error: expect.stringContaining('malformed CSV: text after a closing quote') });
    expect(rows[4]).toEqual({ line: 6, error: expect.stringContaining('a quote inside an unquoted field') });
    expect(rows.filter((r) => 'row' in r).map((r) => ('row' in r && r.row.kind === 'chat' ? r.row.messages[0].content : ''))).toEqual(['q1', 'q3', 'q4', 'q6']);
  });

  test('a CSV quote still open at the end of the file is refused, not taken as a field', async () => {
    const { rows } = await all(file('open.csv', 'prompt,response\nq1,a1\nq2,"a2\nq3,a3\n'));
    expect(rows).toEqual([
      expect.objectContaining({ line: 2, row: expect.anything() }),
      { line: 3, error: 'malformed CSV: a quote opened on line 3 is not closed before the end of the file (a stray quote?)' },
      expect.objectContaining({ line: 4, row: expect.anything() }),
    ]);
  });
});
