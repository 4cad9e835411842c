import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { prepareDataset } from '../../../src-main/engine/data/prepare.js';
import { openModelSource } from '../../../src-main/engine/io/model-source.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';
import { runTrainingLoop } from '../../../src-main/engine/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-chat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SMOL = new URL('../../../../shared/models/smollm2-135m-instruct-tokenizer/tokenizer.json', import.meta.url).pathname;

test('chat data through the real step runner: loss is taken on exactly the assistant tokens, and falls', async () => {
  // A tiny random Llama that speaks SmolLM2's vocabulary, so the real tokenizer and ChatML apply.
  const model = await writeRandomModel(join(dir, 'model'), { ...TINY_LLAMA, vocab_size: 49152 }, { embedStd: 1 });
  copyFileSync(SMOL, join(model, 'tokenizer.json'));
  const data = join(dir, 'chat.jsonl');
  const rows = [
    ['What is the capital of France?', 'Paris.'],
    ['And of Italy?', 'Rome, of course.'],
  ].map(([u, a]) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: u },
        { role: 'assistant', content: a },
      ],
    }),
  );
  writeFileSync(data, rows.join('\n'));

  const source = await openModelSource(model);
  const tok = (await source.tokenizer())!;
  const prepared = await prepareDataset(data, tok, { seqLen: 32, seed: 3 });
  expect(prepared.totals.warnings[0]).toContain('using ChatML');
  const trained = prepared.train.reduce((n, e) => n + e.mask.reduce((a, b) => a + b, 0), 0);
  // "Paris.<|im_end|>" and "Rome, of course.<|im_end|>"
  expect(trained).toBe(tok.encode('Paris.<|im_end|>').length + tok.encode('Rome, of course.<|im_end|>').length);

  const lora: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['q', 'v', 'up', 'down'], rslora: false };
  const runner = await createStepRunner({ source, lora, device: 'cpu', batch: 2, seqLen: 32, seed: 1 });
  try {
    const r = await runTrainingLoop({
      runner,
      train: prepared.train,
      val: [],
      batch: 2,
      seqLen: 32,
      gradAccum: 1,
      padId: 2,
      steps: 25,
      lr: 2e-2,
      warmup: 0,
      schedule: 'constant',
      seed: 1,
    });
    // Every step sees both examples: the runner counted exactly the assistant targets.
    expect(r.history.every((h) => h.tokens === trained)).toBe(true);
    expect(r.history[24].loss).toBeLessThan(r.history[0].loss * 0.5);
  } finally {
    await runner.dispose();
    source.close();
  }
}, 120_000);
