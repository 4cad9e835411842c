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
}

/** The model's template, or `template` when given, or ChatML with a warning. */
export function chatRenderer(tok: TextTokenizer, opts: { template?: string; warn?: (msg: string) => void } = {}): ChatRenderer {
  let source: ChatRenderer['source'] = 'model';
  let text = tok.chatTemplate;
  if (opts.template) {
    text = opts.template;
    source = 'given';
  } else if (!text) {
    text = CHATML_TEMPLATE;
    source = 'chatml-fallback';
    opts.warn?.('the model has no chat template; using ChatML (<|im_start|>role ... <|im_end|>)');
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
  const ctx = { bos_token: special(tok.bosId), eos_token: special(tok.eosIds[0]) };
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
  return { source, render, assistantSpans: (messages) => assistantSpans(render, messages) };
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
