import { describe, expect, test } from 'vitest';
import { chatRenderer } from '../../../src-main/engine/data/chat-template.js';
import { renderExample } from '../../../src-main/engine/data/preview.js';
import { tokenizeRow, truncate } from '../../../src-main/engine/data/tokenize-example.js';
import type { DatasetRow } from '../../../src-main/engine/data/types.js';
import { smolTokenizer } from './smol-tokenizer.js';

const tok = smolTokenizer();
const IM_START = 1;
const IM_END = 2;

const twoTurns: DatasetRow = {
  kind: 'chat',
  messages: [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: 'And of Italy?' },
    { role: 'assistant', content: 'Rome, of course.' },
  ],
};

/** SmolLM2-Instruct's own chat template (from its tokenizer_config.json): ChatML plus a default system prompt. */
const SMOL_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

describe('assistant-only masking on the real SmolLM2 tokenizer', () => {
  test('two-turn chat, ChatML fallback: token by token', () => {
    const warnings: string[] = [];
    const chat = chatRenderer(tok, { warn: (w) => warnings.push(w) });
    expect(chat.source).toBe('chatml-fallback');
    expect(warnings).toEqual([expect.stringContaining('no chat template')]);
    const ex = tokenizeRow(twoTurns, 7, tok, chat);

    // The ids are exactly the tokenizer's encoding of the whole rendered conversation.
    const rendered =
      '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n' +
      '<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\nRome, of course.<|im_end|>\n';
    expect(Array.from(ex.ids)).toEqual(tok.encode(rendered));

    // Walk the tokens: trained exactly from the first token of each reply through its <|im_end|>.
    const pieces = Array.from(ex.ids, (id) => tok.decode([id]));
    const expectedMask: number[] = [];
    let role: string | null = null; // collecting the role name after <|im_start|> until its newline
    let inReply = false;
    for (let i = 0; i < pieces.length; i++) {
      const id = ex.ids[i];
      if (id === IM_START) {
        role = '';
        expectedMask.push(0);
      } else if (role !== null) {
        expectedMask.push(0); // role name and its newline: the header, never trained
        if (pieces[i] === '\n') {
          inReply = role === 'assistant';
          role = null;
        } else role += pieces[i];
      } else if (id === IM_END) {
        expectedMask.push(inReply ? 1 : 0);
        inReply = false;
      } else {
        expectedMask.push(inReply ? 1 : 0);
      }
    }
    expect(Array.from(ex.mask)).toEqual(expectedMask);

    const trainedText = pieces.filter((_, i) => ex.mask[i]).join('');
    expect(trainedText).toBe('Paris.<|im_end|>Rome, of course.<|im_end|>');
    // Both end-of-turn markers of the replies are trained, the user's are not.
    const endPositions = Array.from(ex.ids.keys()).filter((i) => ex.ids[i] === IM_END);
    expect(endPositions.map((i) => ex.mask[i])).toEqual([0, 1, 0, 1]);
    expect(ex.line).toBe(7);
  });

  test('the model template (default system prompt) shifts nothing into the loss', () => {
    const chat = chatRenderer(tok, { template: SMOL_TEMPLATE });
    const ex = tokenizeRow(twoTurns, 1, tok, chat);
    const text = tok.decode(Array.from(ex.ids));
    expect(text.startsWith('<|im_start|>system\nYou are a helpful AI assistant named SmolLM')).toBe(true);
    const preview = renderExample(ex, tok);
    expect(preview.segments.filter((s) => s.trained).map((s) => s.text)).toEqual(['Paris.<|im_end|>', 'Rome, of course.<|im_end|>']);
    expect(preview.text).toBe(text);
  });

  test("lossOn 'all' trains every token but the first", () => {
    const ex = tokenizeRow(twoTurns, 1, tok, chatRenderer(tok), { lossOn: 'all' });
    expect(ex.mask[0]).toBe(0);
    expect(Array.from(ex.mask.subarray(1)).every((m) => m === 1)).toBe(true);
  });

  test('plain text is BOS + text + EOS, all trained; truncation keeps the head', () => {
    const ex = tokenizeRow({ kind: 'text', text: 'Once upon a time' }, 3, tok, null);
    expect(Array.from(ex.ids)).toEqual([tok.bosId, ...tok.encode('Once upon a time'), tok.eosIds[0]]);
    expect(Array.from(ex.mask)).toEqual([0, ...new Array(ex.ids.length - 1).fill(1)]);
    const cut = truncate(ex, 3)!;
    expect(Array.from(cut.ids)).toEqual(Array.from(ex.ids.subarray(0, 3)));
    // A chat whose reply lies wholly past the window has nothing left to learn.
    const chatEx = tokenizeRow(twoTurns, 1, tok, chatRenderer(tok));
    expect(truncate(chatEx, 8)).toBeNull();
  });
});

describe('masking when the simple paths do not apply', () => {
  test('a tokenizer whose pieces do not concatenate (SentencePiece-style dummy prefix) still masks exactly the replies', () => {
    // Every encode call prefixes a space, as SentencePiece's add_dummy_prefix does: encoding the pieces between
    // span edges no longer equals encoding the whole, so the edges are found from prefix encodings instead.
    const spm = { ...tok, encode: (text: string) => tok.encode(' ' + text) };
    const ex = tokenizeRow(twoTurns, 1, spm, chatRenderer(spm));
    const rendered = chatRenderer(tok).render(twoTurns.messages, false);
    expect(Array.from(ex.ids)).toEqual(tok.encode(' ' + rendered));
    const trained = Array.from(ex.ids).filter((_, i) => ex.mask[i]);
    expect(tok.decode(trained)).toBe('Paris.<|im_end|>Rome, of course.<|im_end|>');
  });

  test('a template that renders earlier turns differently falls back to finding each reply by its content', () => {
    const template = '{% for m in messages %}{{ m.role }}: {{ m.content }}{% if loop.last %} <end>{% else %} |{% endif %}\n{% endfor %}';
    const chat = chatRenderer(tok, { template });
    expect(chat.source).toBe('given');
    const { text, spans } = chat.assistantSpans(twoTurns.messages);
    expect(spans.map(([s, e]) => text.slice(s, e))).toEqual(['Paris.', 'Rome, of course.']);
  });

  test('a template that does not parse is a clear error', () => {
    expect(() => chatRenderer(tok, { template: '{% for m in messages %}' })).toThrow(/chat template/);
  });
});
