/**
 * The chat conventions of the new families, as their templates write them (these are Graft's own
 * renditions of the conventions, not the shipped files): Gemma 3's <start_of_turn>user/model with the
 * system text folded into the first user turn and raise_exception on bad role order, Phi-3's
 * <|user|>…<|end|>, and SmolLM3's ChatML with a dated system block (strftime_now). Graft renders the
 * model's own template; these check the jinja features they rely on and that replies are found for masking.
 */
import { describe, expect, it } from 'vitest';
import { chatRenderer } from '../../../src-main/engine/data/chat-template.js';
import type { ChatMessage } from '../../../src-main/engine/data/types.js';
import { GraftError } from '../../../src-main/engine/errors.js';
import { smolTokenizer } from '../data/smol-tokenizer.js';

const GEMMA3 =
  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set prefix = messages[0]['content'] + '\\n\\n' %}{% set turns = messages[1:] %}{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}" +
  "{% for m in turns %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate user/assistant') }}{% endif %}" +
  "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\\n' + (prefix if loop.first else '') + (m['content'] | trim) + '<end_of_turn>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";
const PHI3 = "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";
const SMOLLM3 =
  "{% set ns = namespace(system='') %}{% for m in messages %}{% if m['role'] == 'system' %}{% set ns.system = m['content'] %}{% endif %}{% endfor %}" +
  "{{ '<|im_start|>system\\n## Metadata\\n\\nToday Date: ' + strftime_now('%d %B %Y') + '\\nReasoning Mode: /no_think\\n\\n' + ns.system + '<|im_end|>\\n' }}" +
  "{% for m in messages if m['role'] != 'system' %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const tok = smolTokenizer();
const chat: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
  { role: 'assistant', content: 'Paris.' },
];

describe('chat templates of Gemma 3, Phi-3 and SmolLM3', () => {
  it.each([
    ['gemma3', GEMMA3, '<start_of_turn>user\nBe brief.\n\nCapital of France?<end_of_turn>\n<start_of_turn>model\n', 'Paris.<end_of_turn>'],
    ['phi3', PHI3, '<|system|>\nBe brief.<|end|>\n<|user|>\nCapital of France?<|end|>\n<|assistant|>\n', 'Paris.<|end|>'],
    ['smollm3', SMOLLM3, 'Reasoning Mode: /no_think\n\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n', 'Paris.<|im_end|>'],
  ])('%s: renders the turns and finds the reply with its end-of-turn marker', (_arch, template, prompt, reply) => {
    const r = chatRenderer(tok, { template });
    expect(r.render(chat.slice(0, 2), true)).toContain(prompt);
    const { text, spans } = r.assistantSpans(chat);
    expect(spans.map(([a, b]) => text.slice(a, b))).toEqual([reply]);
  });

  it("gemma3: a conversation out of role order is refused with the template's own message", () => {
    const r = chatRenderer(tok, { template: GEMMA3 });
    try {
      r.render([{ role: 'assistant', content: 'Hi' }], false);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(GraftError);
      expect((e as GraftError).message).toContain('roles must alternate');
    }
  });
});
