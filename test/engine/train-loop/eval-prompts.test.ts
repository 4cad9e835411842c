/**
 * Issue 18, evaluation prompts: a run with `evalPrompts` answers them with the base and with the adapter at each
 * checkpoint and at the end, keeps the answers in <out>/eval-answers.json, and a resumed run keeps the answers
 * it had. stories260K learns a new girl's name (as in stories-name.test.ts), so the adapter's answer must differ
 * from the base's where training taught it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseTrainOptions } from '../../../src-main/engine/options/train.js';
import { EVAL_ANSWERS_FILE, parseEvalPrompts, readEvalAnswers, type EvalAnswersFile } from '../../../src-main/engine/train/eval-prompts.js';
import type { TrainEvent } from '../../../src-main/engine/train/events.js';
import { trainAdapter, type TrainAdapterOptions } from '../../../src-main/engine/train/train-adapter.js';

const MODEL = new URL('../../../resources/demo/stories260K.gguf', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'graft-eval-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAME_PROMPT = 'Once upon a time, there was a little girl named';

function storyDataset(name: string): string {
  const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
  const things = ['ball', 'kite', 'cat', 'flower', 'box', 'bird'];
  return (
    Array.from(
      { length: 48 },
      (_, i) =>
        `Once upon a time, there was a little girl named ${name}. ${name} loved to play in the ${places[i % 6]}. One day, ${name} saw a big ${things[(i * 5) % 6]}. ${name} was very happy.`,
    ).join('\n\n') + '\n'
  );
}

it('parses one prompt a line, blank lines skipped', () => {
  expect(parseEvalPrompts('  a cat \n\n\r\nthe dog\n')).toEqual(['a cat', 'the dog']);
  expect(parseEvalPrompts('')).toEqual([]);
});

it('answers the prompts, base | adapter, at each checkpoint and at the end, and keeps them across a resume', async () => {
  const data = join(dir, 'zara.txt');
  writeFileSync(data, storyDataset('Zara'));
  const out = join(dir, 'run');
  const job: TrainAdapterOptions = {
    model: MODEL,
    data,
    out,
    options: parseTrainOptions({
      steps: 40,
      batch: 4,
      seqLen: 64,
      lr: 5e-3,
      rank: 8,
      warmup: 4,
      saveEvery: 20,
      device: 'cpu',
      evalPrompts: `${NAME_PROMPT}\nOne day, she went to the`,
      evalMaxTokens: 8,
    }),
  };

  // First part: stop the run once step 20's answers are in (a cancel, as the app's button does).
  const abort = new AbortController();
  const first: TrainEvent[] = [];
  const r1 = await trainAdapter(job, {
    signal: abort.signal,
    onEvent: (e) => {
      first.push(e);
      if (e.type === 'answers') abort.abort();
    },
  });
  expect(r1.cancelled).toBe(true);
  expect(first.filter((e) => e.type === 'answering').map((e) => e.type === 'answering' && e.done)).toEqual([0, 1]);
  const atCheckpoint = first.find((e) => e.type === 'answers');
  expect(atCheckpoint).toMatchObject({ type: 'answers', step: 20, final: false });
  const kept = JSON.parse(readFileSync(join(out, EVAL_ANSWERS_FILE), 'utf8')) as EvalAnswersFile;
  expect(kept.checkpoints.map((c) => c.step)).toEqual([20]);

  // Second part: resume; the end's answers join step 20's.
  const second: TrainEvent[] = [];
  const r2 = await trainAdapter({ ...job, resume: out }, { onEvent: (e) => second.push(e) });
  expect(r2.cancelled).toBe(false);
  const end = second.find((e) => e.type === 'answers');
  expect(end).toMatchObject({ type: 'answers', step: 40, final: true });
  // The end's answers come before 'done', between the last step and the write.
  expect(second.findIndex((e) => e.type === 'answers')).toBeLessThan(second.findIndex((e) => e.type === 'done'));

  const file = JSON.parse(readFileSync(join(out, EVAL_ANSWERS_FILE), 'utf8')) as EvalAnswersFile;
  expect(file.prompts).toEqual([NAME_PROMPT, 'One day, she went to the']);
  expect(file.checkpoints.map((c) => [c.step, c.final])).toEqual([
    [20, false],
    [40, true],
  ]);
  const [name] = file.checkpoints[1].answers;
  expect(name.prompt).toBe(NAME_PROMPT);
  // The base answers as it always has; the adapter with the name it was taught.
  expect(name.base).toMatch(/^\s*Lily/);
  expect(name.adapter).toMatch(/^\s*Zara/);
  expect(name.adapter).not.toBe(name.base);
  // The base's answers are the same at every step (computed once, greedy).
  expect(file.checkpoints[0].answers.map((a) => a.base)).toEqual(file.checkpoints[1].answers.map((a) => a.base));
  expect(file.base).toEqual(file.checkpoints[1].answers.map((a) => a.base));
}, 300_000);

it('graft train --eval-prompts FILE prints the answers, base | adapter, and --json gives them as events', () => {
  const data = join(dir, 'cli.txt');
  writeFileSync(data, storyDataset('Zara'));
  const prompts = join(dir, 'prompts.txt');
  writeFileSync(prompts, `${NAME_PROMPT}\n`);
  const graft = (out: string, json: boolean) =>
    spawnSync(
      process.execPath,
      [
        new URL('../../../bin/graft.mjs', import.meta.url).pathname,
        'train',
        ...['--model', MODEL, '--data', data, '--out', out, '--device', 'cpu', '--steps', '2', '--batch', '2', '--seq-len', '32'],
        ...['--eval-prompts', prompts, '--eval-max-tokens', '4', ...(json ? ['--json'] : [])],
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
  const text = graft(join(dir, 'cli-text'), false);
  expect(text.status, text.stderr).toBe(0);
  expect(text.stderr).toContain('step 2 (end): evaluation prompts, base | adapter');
  expect(text.stderr).toContain(`  > ${NAME_PROMPT}\n    base:    Lily`);
  expect(text.stderr).toMatch(/\n {4}adapter: \S/);

  const json = graft(join(dir, 'cli-json'), true);
  expect(json.status, json.stderr).toBe(0);
  const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  expect(events.find((e) => e.type === 'answers')).toMatchObject({ step: 2, final: true, answers: [{ prompt: NAME_PROMPT }] });
}, 240_000);

// The other methods answer through their own decoder hooks (DoRA, IA³, bottlenecks) or the 4-bit base (QLoRA).
it.each([
  ['dora', 'fp32'],
  ['ia3', 'fp32'],
  ['houlsby', 'fp32'],
  ['qlora', 'fp32'],
  ['qlora', 'fp16'],
])('answers with a %s adapter too (base at %s)', async (method, precision) => {
  const data = join(dir, `${method}-${precision}.txt`);
  writeFileSync(data, storyDataset('Zara'));
  const out = join(dir, `run-${method}-${precision}`);
  const options = { method, ...(precision !== 'fp32' ? { precision } : {}), steps: 2, batch: 2, seqLen: 32, device: 'cpu', evalPrompts: NAME_PROMPT, evalMaxTokens: 4 };
  await trainAdapter({ model: MODEL, data, out, options: parseTrainOptions(options) });
  const [end] = readEvalAnswers(out)!.checkpoints;
  expect(end).toMatchObject({ step: 2, final: true });
  expect(end.answers[0].base).toMatch(/^\s*Lily/);
  expect(end.answers[0].adapter.trim()).not.toBe('');
}, 120_000);
