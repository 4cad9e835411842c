/**
 * Issue 18 item 3: adapters trained on short texts must end their replies (finish 'eos'), not run on to max
 * tokens. The demo model (stories260K, llama2.c) never saw its EOS in pretraining: its output row is untrained,
 * so rows used to end with a token no LoRA could learn to produce, and ChatML's "<|im_end|>" was spelled in
 * byte tokens that share one untrained row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import { chatRenderer, chatStops } from '../../../src-main/engine/data/chat-template.js';
import { generate } from '../../../src-main/engine/infer/generate.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { textEndToken, untrainedOutputIds } from '../../../src-main/engine/train/end-token.js';
import { parseTrainOptions } from '../../../src-main/engine/options/train.js';
import { trainAdapter, type TrainAdapterOptions } from '../../../src-main/engine/train/train-adapter.js';

const MODEL = new URL('../../../resources/demo/stories260K.gguf', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'graft-stops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STORIES = [
  'Tom had a red ball. He threw it to his dog. The dog ran and got it. Tom was happy.',
  'Lily saw a big cat. The cat was sad. Lily gave it some milk. The cat smiled.',
  'Ben wanted to fly. He made a kite. The wind took it up high. Ben laughed.',
  'Max lost his hat. He looked under the bed. The hat was there. Max put it on.',
];

async function train(name: string, rows: object[], seqLen: number): Promise<{ out: string; warnings: string[] }> {
  const data = join(dir, `${name}.jsonl`);
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const out = join(dir, name);
  const warnings: string[] = [];
  const opts: TrainAdapterOptions = {
    model: MODEL,
    data,
    out,
    options: parseTrainOptions({ rank: 8, alpha: 16, lr: 3e-3, steps: 120, batch: 4, seqLen, schedule: 'cosine', seed: 0, device: 'cpu' }),
  };
  await trainAdapter(opts, { onWarning: (w) => warnings.push(w) });
  return { out, warnings };
}

async function greedy(out: string, prompt: { text: string; chat: boolean }) {
  const model = await loadModel(MODEL);
  try {
    const tok = (await model.source.tokenizer())!;
    const chat = chatRenderer(tok, { endToken: textEndToken(model.source, model.spec, tok).id });
    const ids = prompt.chat
      ? tok.encode(chat.render([{ role: 'user', content: prompt.text }], true), { addSpecial: false })
      : tok.encode(prompt.text, { addSpecial: true });
    const [r] = await generate({
      model,
      device: await resolveDevice('cpu'),
      tokenizer: tok,
      prompt: ids,
      variants: [{ adapters: [{ weights: readAdapterWeights(out), scale: 1 }] }],
      maxTokens: 60,
      sampling: { temperature: 0 },
      endOfTurn: prompt.chat ? chatStops(tok, chat) : undefined,
    });
    return r;
  } finally {
    model.source.close();
  }
}

describe('adapters that stop', () => {
  it("finds stories260K's EOS untrained and its BOS trained, and ends text rows with BOS", async () => {
    const model = await loadModel(MODEL);
    try {
      const tok = (await model.source.tokenizer())!;
      expect([...untrainedOutputIds(model.source, model.spec, [tok.bosId!, tok.eosIds[0], 426])]).toEqual([tok.eosIds[0]]);
      expect(textEndToken(model.source, model.spec, tok).id).toBe(tok.bosId);
    } finally {
      model.source.close();
    }
  });

  it('an adapter trained on short stories ends each story with finish "eos"', async () => {
    const { out, warnings } = await train('stories', STORIES.map((text) => ({ text })), 48);
    expect(warnings.join('\n')).toContain('never learned to produce its end-of-sequence token');
    for (const story of [STORIES[0], STORIES[3]]) {
      const head = story.split(' ').slice(0, 2).join(' ');
      const r = await greedy(out, { text: head, chat: false });
      expect(r.finish).toBe('eos');
      expect(head + ' ' + r.text).toBe(story);
    }
  }, 120_000);

  it('an adapter trained on short chats (ChatML fallback) ends its reply with finish "eos"', async () => {
    const rows = STORIES.map((s) => ({
      messages: [
        { role: 'user', content: `Tell me about ${s.split(' ')[0]}.` },
        { role: 'assistant', content: s },
      ],
    }));
    const { out } = await train('chats', rows, 96);
    const r = await greedy(out, { text: 'Tell me about Ben.', chat: true });
    expect(r.finish).toBe('eos');
    expect(r.text).toBe(STORIES[2]);
  }, 120_000);
});
