import { Template } from '@huggingface/jinja';
import { GraftError } from '../errors.js';
import type { TextTokenizer } from '../tokenize/types.js';
import type { ChatMessage } from './types.js';

/** ChatML, used when a model ships no template of its own (the most common convention among small models). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface ChatRenderer {
  readonly source: 'model' | 'given' | 'chatml-fallback';
  render(messages: ChatMessage[], addGenerationPrompt: boolean): string;
  /** Character spans [start, end) of each assistant turn's reply (content + end-of-turn marker) in render(messages). */
  assistantSpans(messages: ChatMessage[]): { text: string; spans: [number, number][] };
  /** What the template writes after an assistant reply's content ('<|im_end|>', '<|eot_id|>', '</s>'; '' when nothing). */
  readonly endOfTurn: string;
}

/**
 * ChatML whose turns end with the model's end token instead of "<|im_end|>", for vocabularies without that
 * special token: spelled out in pieces, "<|im_end|>" is a run of rare tokens an adapter may be unable to learn
 * to write (stories260K's byte tokens share one untrained output row), so replies would never end.
 */
export const CHATML_EOS_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + eos_token + '\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

export interface ChatRendererOptions {
  template?: string;
  warn?: (msg: string) => void;
  /** The token templates get as eos_token (default the first EOS); see train/end-token.ts. */
  endToken?: number | null;
}

/** The model's template, or `template` when given, or ChatML with a warning. */
export function chatRenderer(tok: TextTokenizer, opts: ChatRendererOptions = {}): ChatRenderer {
  let source: ChatRenderer['source'] = 'model';
  let text = tok.chatTemplate;
  const endId = opts.endToken === undefined ? tok.eosIds[0] : opts.endToken;
  if (opts.template) {
    text = opts.template;
    source = 'given';
  } else if (!text) {
    source = 'chatml-fallback';
    if (tok.encode('<|im_end|>', { addSpecial: false }).length !== 1 && endId !== null && endId !== undefined) {
      text = CHATML_EOS_TEMPLATE;
      opts.warn?.(`the model has no chat template; using ChatML with turns ending in ${tok.tokenText(endId)} (<|im_start|>role ... ${tok.tokenText(endId)})`);
    } else {
      text = CHATML_TEMPLATE;
      opts.warn?.('the model has no chat template; using ChatML (<|im_start|>role ... <|im_end|>)');
    }
  }
  let tpl: Template;
  try {
    tpl = new Template(text);
  } catch (err) {
    throw new GraftError('BAD_INPUT', `the chat template does not parse: ${(err as Error).message}`, {
      where: 'chat_template',
      cause: err,
    });
  }
  const special = (id: number | null | undefined) => (id === null || id === undefined ? '' : tok.tokenText(id));
  const ctx = { bos_token: special(tok.bosId), eos_token: special(endId) };
  const render = (messages: ChatMessage[], addGenerationPrompt: boolean): string => {
    try {
      return tpl.render({
        ...ctx,
        messages,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (err) {
      throw new GraftError('BAD_INPUT', `the chat template failed on this conversation: ${(err as Error).message}`, {
        where: 'chat_template',
        cause: err,
      });
    }
  };
  return { source, render, assistantSpans: (messages) => assistantSpans(render, messages), endOfTurn: endOfTurn(render) };
}

/** The end-of-turn marker, read off a probe conversation's assistant span (it holds content + marker). */
function endOfTurn(render: ChatRenderer['render']): string {
  const reply = 'Graft probe reply.';
  try {
    const { text, spans } = assistantSpans(render, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: reply },
    ]);
    const span = spans.length ? text.slice(...spans[0]) : '';
    const at = span.lastIndexOf(reply);
    return at < 0 ? '' : span.slice(at + reply.length).trim();
  } catch {
    // Templates that insist on other conversations (a system turn first, alternation rules) still render
    // real chats; they only lose the end-of-turn stop.
    return '';
  }
}

/**
 * How generation recognizes the end of a reply: the marker as one token id when the tokenizer has it as a
 * single token (usually a special token, which decoding skips, so a stop string could not see it), else as text
 * (ChatML on a model without those special tokens, where an adapter learns to write "<|im_end|>" piece by piece).
 */
export function chatStops(tok: TextTokenizer, chat: ChatRenderer): { ids: number[]; texts: string[] } {
  if (!chat.endOfTurn) return { ids: [], texts: [] };
  const ids = tok.encode(chat.endOfTurn, { addSpecial: false });
  return ids.length === 1 ? { ids, texts: [] } : { ids: [], texts: [chat.endOfTurn] };
}

/**
 * Finds each assistant reply as the text the template adds between "conversation so far + generation prompt"
 * and "conversation including the reply", trimmed of trailing whitespace (the newline after the end-of-turn
 * marker is not something the model must produce). Templates that rewrite earlier turns fall back to finding
 * the reply's content in the full rendering.
 */
function assistantSpans(render: ChatRenderer['render'], messages: ChatMessage[]): { text: string; spans: [number, number][] } {
  const full = render(messages, false);
  const spans: [number, number][] = [];
  let cursor = 0;
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    const before = render(messages.slice(0, i), true);
    const through = render(messages.slice(0, i + 1), false);
    let start: number;
    let end: number;
    if (through.startsWith(before) && full.startsWith(through) && before.length >= cursor) {
      start = before.length;
      end = through.trimEnd().length;
    } else {
      start = full.indexOf(messages[i].content, cursor);
      if (start < 0)
        throw new GraftError('BAD_INPUT', `cannot locate assistant turn ${i} in the rendered chat template`, { where: `messages[${i}]` });
      end = start + messages[i].content.length;
    }
    if (end > start) spans.push([start, end]);
    cursor = end;
  }
  return { text: full, spans };
}
