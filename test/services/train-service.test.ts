/**
 * The Models, Datasets and Train channels below the UI: the real handler table and engine worker thread, the
 * stories260K demo model, a temporary user-data folder and adapter library.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, HandlerTable, RequestOf, ResponseOf } from '../../src-main/ipc/contract';
import type { LoraTarget, MemoryCheck, TrainRequest, TrainUpdate } from '../../src-main/ipc/train';
import type { GraftErrorData } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';
import { TRAIN_OPTIONS, wordError } from '../../src-main/ipc/train';
import { fieldLabel } from '../../src-renderer/lib/field-label';
import { createHandlers } from '../../src-main/ipc/handlers';
import { createServices, type Services } from '../../src-main/services/index';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-ws-'));
const saved = { lib: process.env.GRAFT_LIBRARY, data: process.env.GRAFT_DATA_DIR, quant: process.env.GRAFT_QUANT_CACHE };
let services: Services;
let table: HandlerTable;

async function call<C extends Channel>(channel: C, ...req: RequestOf<C> extends void ? [] : [RequestOf<C>]): Promise<ResponseOf<C>> {
  const r = await dispatch(table, channel, req[0], { shell: 'browser' });
  if (!r.ok) throw Object.assign(new Error(`${channel}: ${r.error.code} ${r.error.message}`), r.error);
  return r.value as ResponseOf<C>;
}

const STORY = (i: number) =>
  JSON.stringify({ text: `Once upon a time, there was a little ${i % 2 ? 'girl' : 'boy'} named Tim. He liked to play with his red ball in the park.` });

beforeAll(() => {
  process.env.GRAFT_LIBRARY = path.join(tmp, 'library');
  process.env.GRAFT_DATA_DIR = path.join(tmp, 'data');
  process.env.GRAFT_QUANT_CACHE = path.join(tmp, 'quant');
  services = createServices({ name: 'graft', version: 'test', platform: process.platform });
  table = createHandlers(services);
});

afterAll(async () => {
  await services.dispose();
  for (const [k, v] of [['GRAFT_LIBRARY', saved.lib], ['GRAFT_DATA_DIR', saved.data], ['GRAFT_QUANT_CACHE', saved.quant]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('models', () => {
  it('offers the bundled demo model on first run and registers it with what the engine reads', async () => {
    expect(await call('models.list')).toMatchObject({ models: [], offerDemo: true, demoAvailable: true, downloads: [] });
    const demo = await call('models.addDemo');
    expect(demo).toMatchObject({ source: 'demo', name: 'stories260K (demo)' });
    expect(demo.info).toMatchObject({ format: 'gguf', architecture: 'LlamaForCausalLM', vocabSize: 512, dtype: 'F32', hasTokenizer: true });
    expect(demo.info!.params).toBeGreaterThan(200_000);
    expect(demo.info!.params).toBeLessThan(300_000);
    const [lora, qlora] = demo.info!.memory;
    expect(lora.method).toBe('lora');
    expect(qlora.estimate.weights).toBeLessThan(lora.estimate.weights);
    const list = await call('models.list');
    expect(list.offerDemo).toBe(false);
    // The registry is a file in the user data folder, written atomically.
    const onDisk = JSON.parse(readFileSync(path.join(tmp, 'data', 'models.json'), 'utf8'));
    expect(onDisk.models.map((m: { id: string }) => m.id)).toEqual([demo.id]);
  });

  it('refuses what is not a model, naming the file', async () => {
    const txt = path.join(tmp, 'notes.txt');
    writeFileSync(txt, 'hello');
    await expect(call('models.add', { path: txt })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('notes.txt') });
    await expect(call('models.add', { path: path.join(tmp, 'missing.gguf') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const fake = path.join(tmp, 'fake.gguf');
    writeFileSync(fake, 'not a gguf at all');
    await expect(call('models.add', { path: fake })).rejects.toMatchObject({ code: 'BAD_FILE' });
    expect((await call('models.list')).models).toHaveLength(1);
  });
});

describe('datasets and training', () => {
  let modelId: string;
  let datasetId: string;

  beforeAll(async () => {
    modelId = (await call('models.list')).models[0].id;
  });

  it('imports dropped content, reports bad lines by number and previews the trained tokens', async () => {
    const rows = [STORY(0), STORY(1), '{"text": ', STORY(2), '{"nope": 1}', ...Array.from({ length: 20 }, (_, i) => STORY(i + 3))];
    const d = await call('datasets.import', { name: 'stories.jsonl', content: rows.join('\n') + '\n' });
    datasetId = d.id;
    expect(d).toMatchObject({ name: 'stories.jsonl', format: 'auto' });
    const report = await call('datasets.inspect', { id: d.id, modelId, seqLen: 64, count: 3 });
    expect(report.summary).toMatchObject({ file: 'stories.jsonl', format: 'text', records: 25, kept: 23, dropped: 2 });
    expect(report.summary.issues.map((i) => i.line)).toEqual([3, 5]);
    expect(report.preview).toHaveLength(3);
    expect(report.preview[0].segments.some((s) => s.trained)).toBe(true);
    expect(report.preview[0].text).toContain('little boy named Tim');
    expect(report.summary.tokens!.histogram.reduce((n, b) => n + b.count, 0)).toBe(23);

    // A format override the content does not fit is reported, not guessed around.
    await call('datasets.update', { id: d.id, format: 'alpaca' });
    const forced = await call('datasets.inspect', { id: d.id, modelId, seqLen: 64 });
    expect(forced.summary.format).toBe('alpaca');
    expect(forced.summary.kept).toBe(0);
    await call('datasets.update', { id: d.id, format: 'auto' });
  });

  it('marks only the assistant replies of a conversation as trained in the preview', async () => {
    const chat = JSON.stringify({ messages: [{ role: 'user', content: 'Tell me about Tim.' }, { role: 'assistant', content: 'Tim has a red ball.' }] });
    const d = await call('datasets.import', { name: 'chat.jsonl', content: `${chat}\n${chat}\n` });
    const r = await call('datasets.inspect', { id: d.id, modelId, seqLen: 128 });
    expect(r.summary).toMatchObject({ format: 'messages', kept: 2 });
    const ex = r.preview[0];
    const trained = ex.segments.filter((s) => s.trained).map((s) => s.text).join('');
    const context = ex.segments.filter((s) => !s.trained).map((s) => s.text).join('');
    expect(trained).toContain('Tim has a red ball.');
    expect(trained).not.toContain('Tell me about Tim.');
    expect(context).toContain('Tell me about Tim.');
    expect(ex.trainedTokens).toBeLessThan(ex.tokens);
    await call('datasets.remove', { id: d.id });
  });

  it('maps CSV columns the header does not name, and says so in the name the user knows', async () => {
    const csv = 'q,a\n"Who is Tim?","A boy with a red ball."\n"Where is Tim?","In the park."\n';
    const d = await call('datasets.import', { name: 'qa.csv', content: csv });
    const refused = await call('datasets.inspect', { id: d.id, modelId }).catch((e: unknown) => e as GraftErrorData);
    // The engine names the options by key; the screen words them by the labels of its column fields.
    expect(refused).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^qa\.csv: no column mapping given.*"q", "a".*choose \{textColumn\}, or \{promptColumn\} and \{responseColumn\}/) });
    expect(wordError(refused as GraftErrorData, fieldLabel)).toContain('choose "Text column", or "Prompt column" and "Response column"');
    await call('datasets.update', { id: d.id, columns: { prompt: 'q', response: 'a' } });
    const ok = await call('datasets.inspect', { id: d.id, modelId, seqLen: 64 });
    expect(ok.summary).toMatchObject({ format: 'csv', kept: 2, dropped: 0 });
    expect(ok.preview[0].segments.filter((s) => s.trained).map((s) => s.text).join('')).toContain('A boy with a red ball.');
    await call('datasets.update', { id: d.id, columns: { text: 'body' } });
    await expect(call('datasets.inspect', { id: d.id, modelId })).rejects.toMatchObject({ message: expect.stringContaining('the text column "body" is not in the header') });
    expect((await call('datasets.update', { id: d.id, columns: null })).columns).toBeUndefined();
    await call('datasets.remove', { id: d.id });
  });

  it('estimates memory for the chosen device before starting', async () => {
    const m = await call('train.estimate', { modelId, method: 'lora', rank: 8, targets: ['q', 'v'], batch: 2, seqLen: 64, device: 'cpu' });
    expect(m.device.kind).toBe('cpu');
    expect(m.estimate.total).toBeGreaterThan(m.estimate.weights);
    expect(m.available).toBeGreaterThan(0);
  });

  it("counts every method's trainable parameters for the picker, and estimates the chosen method's memory", async () => {
    const common = { modelId, rank: 8, targets: ['q', 'v'] as LoraTarget[], batch: 2, seqLen: 64, device: 'cpu' as const };
    const lora = await call('train.estimate', { ...common, method: 'lora' });
    expect(lora.methods.map((c) => c.method)).toEqual(TRAIN_OPTIONS.method.appChoices);
    const count = (r: MemoryCheck, m: string) => r.methods.find((c) => c.method === m)!.params!;
    for (const c of lora.methods) expect(c.params, c.method).toBeGreaterThan(0);
    expect(count(lora, 'lora')).toBe(lora.estimate.loraParams);
    // DoRA adds a magnitude per output row to LoRA's factors; IA³ and BitFit train far fewer values
    expect(count(lora, 'dora')).toBeGreaterThan(count(lora, 'lora'));
    expect(count(lora, 'ia3')).toBeLessThan(count(lora, 'lora'));
    // the settings a method reads change its count (and only its own), and the chosen method's estimate follows
    const prefix = await call('train.estimate', { ...common, method: 'prefix', virtualTokens: 32 });
    expect(count(prefix, 'prefix')).toBe(2 * count(lora, 'prefix'));
    expect(count(prefix, 'houlsby')).toBe(count(lora, 'houlsby'));
    expect(prefix.estimate.loraParams).toBe(count(prefix, 'prefix'));
    expect(prefix.estimate.activations).toBeGreaterThan(lora.estimate.activations);
    await expect(call('train.estimate', { ...common, method: 'houlsby', bottleneckSize: 0 })).rejects.toMatchObject({ field: 'bottleneckSize' });
  });

  it('trains in the worker with streamed progress and imports the adapter into the library', async () => {
    const updates: TrainUpdate[] = [];
    const off = services.events.on('train.update', (u) => updates.push(u));
    const settings: TrainRequest = {
      modelId,
      datasetId,
      name: 'tim-stories',
      method: 'lora',
      quant: 'nf4',
      quantMethod: 'rtn',
      rank: 4,
      alpha: 8,
      dropout: 0,
      targets: ['q', 'k', 'v', 'o'],
      rslora: false,
      lr: 5e-3,
      steps: 8,
      epochs: null,
      batch: 2,
      gradAccum: 1,
      seqLen: 64,
      warmup: 1,
      schedule: 'cosine',
      valSplit: 0.2,
      evalEvery: 4,
      maxEvalBatches: 2,
      saveEvery: 0,
      weightDecay: 0,
      beta1: 0.9,
      beta2: 0.999,
      maxGradNorm: 1,
      pack: false,
      lossOn: 'all',
      chatTemplate: '',
      seed: 1,
      device: 'cpu',
    };
    const job = await call('train.start', settings);
    expect(job.state).toBe('preparing');
    // The Train form opens with the last run's settings next time (as validated: the options left out at their defaults).
    expect((await call('settings.get')).lastTrain).toEqual({
      ...settings,
      quantEmbeddings: 'fp16',
      precision: 'fp32',
      minLrRatio: 0,
      memoryLimit: null,
      // The evaluation prompts (issue 18): none, at their default length.
      evalPrompts: '',
      evalMaxTokens: 48,
      recomputeActivations: false,
      // The other methods' settings (issue 16), at their defaults.
      ia3Targets: ['k', 'v', 'down'],
      virtualTokens: 16,
      reductionFactor: null,
      bottleneckSize: null,
      nonLinearity: 'default',
      adapterScaling: null,
      // AdapterDrop in training and AdapterFusion's adapters (issue 16), at their defaults.
      adapterDrop: 0,
      fuseAdapters: '',
    });
    expect(JSON.parse(readFileSync(path.join(tmp, 'data', 'settings.json'), 'utf8')).lastTrain.name).toBe('tim-stories');
    await expect(call('train.start', settings)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('already') });
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 90_000, interval: 200 }).toMatch(/done|error/);
    off();
    const last = updates.at(-1)!.job;
    expect(last.error).toBeNull();
    expect(last.adapterId).toBeTruthy();
    const steps = updates.flatMap((u) => (u.event?.type === 'step' ? [u.event] : []));
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(updates.some((u) => u.event?.type === 'eval')).toBe(true);
    expect(last.memory?.estimate.total).toBeGreaterThan(0);
    // A page that reattaches gets the whole history.
    const current = await call('train.current');
    expect(current?.events.filter((e) => e.type === 'step')).toHaveLength(8);
    const lib = await call('adapters.list', {});
    const entry = lib.entries.find((e) => e.meta.id === last.adapterId);
    expect(entry?.meta.name).toBe('tim-stories');
    expect(existsSync(entry!.dir)).toBe(true);
  });

  it('pauses, resumes, cancels, and continues a cancelled run from its checkpoint', async () => {
    const updates: TrainUpdate[] = [];
    const off = services.events.on('train.update', (u) => updates.push(u));
    const base = (await call('train.current'))!.settings;
    await call('train.start', { ...base, name: 'long-run', steps: 150, valSplit: 0, evalEvery: 0 });
    await expect.poll(() => updates.some((u) => u.event?.type === 'step'), { timeout: 60_000, interval: 100 }).toBe(true);
    await call('train.pause');
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 30_000, interval: 100 }).toBe('paused');
    const stepsAtPause = updates.filter((u) => u.event?.type === 'step').length;
    // The desktop app keeps running after its window closes until the run is over.
    let idle = false;
    const whenIdle = services.train.whenIdle(50).then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(updates.filter((u) => u.event?.type === 'step').length).toBe(stepsAtPause);
    expect(idle).toBe(false);
    await call('train.resume');
    await expect.poll(() => updates.filter((u) => u.event?.type === 'step').length, { timeout: 30_000, interval: 100 }).toBeGreaterThan(stepsAtPause);
    await call('train.cancel');
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 30_000, interval: 100 }).toBe('cancelled');
    await whenIdle;
    expect(idle).toBe(true);
    expect((await call('train.current'))?.adapterId).toBeNull();
    await expect(call('train.pause')).rejects.toMatchObject({ code: 'BAD_INPUT' });

    // The cancel wrote a checkpoint: continue from it in the same job, history kept, to a finished adapter.
    const cancelled = updates.flatMap((u) => (u.event?.type === 'cancelled' ? [u.event] : []))[0];
    expect(cancelled.checkpoint).toBeTruthy();
    const before = (await call('train.current'))!.events.length;
    await call('train.continue');
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 90_000, interval: 200 }).toMatch(/done|error/);
    off();
    const job = (await call('train.current'))!;
    expect(job.error).toBeNull();
    expect(job.adapterId).toBeTruthy();
    const after = job.events.slice(before);
    expect(after[0]).toMatchObject({ type: 'start', startStep: cancelled.step, resumedFrom: expect.any(String) });
    expect(after.find((e) => e.type === 'step')).toMatchObject({ step: cancelled.step + 1 });
    expect(after.at(-1)).toMatchObject({ type: 'done', step: 150 });
    await expect(call('train.continue')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
  it('prepares a GPTQ 4-bit base for a QLoRA run with its progress shown, then trains on it', async () => {
    const updates: TrainUpdate[] = [];
    const off = services.events.on('train.update', (u) => updates.push(u));
    const base = (await call('train.current'))!.settings;
    await call('train.start', { ...base, name: 'tim-gptq', method: 'qlora', quant: 'int4', quantMethod: 'gptq', steps: 2, valSplit: 0, evalEvery: 0 });
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 90_000, interval: 200 }).toMatch(/done|error/);
    off();
    expect(updates.at(-1)!.job.error).toBeNull();
    const phases = updates.flatMap((u) => (u.job.quantize ? [`${u.job.quantize.phase} ${u.job.quantize.done}/${u.job.quantize.total}`] : []));
    expect(phases[0]).toMatch(/^calibration /);
    expect(phases).toContain('layers 1/5');
    expect(updates.at(-1)!.job.quantize).toBeNull(); // cleared once the base is ready
    expect(readdirSync(path.join(tmp, 'quant'))).toContainEqual(expect.stringMatching(/-int4-gptq1\.gq$/));
  });

  it('answers the evaluation prompts at the checkpoint and the end, kept on the run\'s page in the history (issue 18)', async () => {
    const updates: TrainUpdate[] = [];
    const off = services.events.on('train.update', (u) => updates.push(u));
    // The last run was QLoRA: its 4-bit settings would not apply to LoRA.
    const { quant: _q, quantMethod: _m, quantEmbeddings: _e, ...base } = (await call('train.current'))!.settings;
    const prompts = 'Once upon a time, there was a little girl named\nOne day, Tim';
    const job = await call('train.start', { ...base, name: 'tim-answers', method: 'lora', steps: 4, saveEvery: 2, valSplit: 0, evalEvery: 0, evalPrompts: prompts, evalMaxTokens: 6 });
    await expect.poll(() => updates.at(-1)?.job.state, { timeout: 90_000, interval: 200 }).toMatch(/done|error/);
    off();
    expect(updates.at(-1)!.job.error).toBeNull();
    // Progress while answering, then the answers of the checkpoint (step 2) and of the end (step 4).
    expect(updates.filter((u) => u.event?.type === 'answering').map((u) => u.event)).toContainEqual({ type: 'answering', step: 2, done: 1, total: 2 });
    const answers = updates.flatMap((u) => (u.event?.type === 'answers' ? [u.event] : []));
    expect(answers.map((a) => [a.step, a.final])).toEqual([
      [2, false],
      [4, true],
    ]);
    expect(answers[1].answers.map((a) => a.prompt)).toEqual(['Once upon a time, there was a little girl named', 'One day, Tim']);
    // Kept with the run: its page in the history (what #/train/run/<id> shows).
    await services.runs.settled();
    const page = await call('train.run', { id: job.id });
    expect(page.events.filter((e) => e.type === 'answers')).toEqual(answers);
  });

  it('refuses a dataset with no usable rows before the run starts, worded for the form (issue 18 item 8)', async () => {
    const bad = await call('datasets.import', { name: 'broken.jsonl', content: '{"text": "ok"}\n{"text": \n{"text": 3}\n' });
    await call('datasets.update', { id: bad.id, format: 'alpaca' });
    const before = await call('train.current');
    const settings = { modelId, datasetId: bad.id, name: 'doomed', steps: 1 } as TrainRequest;
    const refused = await call('train.start', settings).catch((e: unknown) => e as GraftErrorData);
    expect(refused).toMatchObject({ code: 'BAD_INPUT', field: 'datasetId', file: 'broken.jsonl' });
    const worded = wordError(refused as GraftErrorData, fieldLabel);
    expect(worded).toMatch(/^"Dataset" has no usable rows: all 3 records of broken\.jsonl are dropped \(line 1: .*, and 2 more\)/);
    expect(worded).not.toContain(path.join(tmp, 'data'));
    expect(worded).not.toMatch(/--\w/);
    // Nothing was started: the last job (if any) is still the current one.
    expect((await call('train.current'))?.id).toBe(before?.id);
    await call('datasets.remove', { id: bad.id });
  });
});

describe('job bundle from the Train screen', () => {
  it('writes the bundle of the run the settings describe, and words errors with the names the user knows', async () => {
    const models = await call('models.list');
    const modelId = models.models[0]?.id ?? (await call('models.addDemo')).id;
    const d = await call('datasets.import', { name: 'tim.jsonl', content: Array.from({ length: 12 }, (_, i) => STORY(i)).join('\n') + '\n' });
    const settings = { ...(await call('settings.get')).lastTrain };
    const s: TrainRequest = {
      modelId, datasetId: d.id, name: 'tim-remote', method: 'lora', quant: 'nf4', quantMethod: 'rtn', rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'], rslora: false,
      lr: 1e-3, steps: 5, epochs: null, batch: 2, gradAccum: 2, seqLen: 64, warmup: 1, schedule: 'linear', valSplit: 0.2, evalEvery: 0, maxEvalBatches: null,
      saveEvery: 0, weightDecay: 0.01, beta1: 0.9, beta2: 0.99, maxGradNorm: 0.5, pack: false, lossOn: 'all', chatTemplate: '', seed: 4, device: 'cpu',
    };
    const out = path.join(tmp, 'bundles', 'tim');
    const r = await call('train.exportJob', { settings: s, out });
    expect(r).toMatchObject({ out, totalSteps: 5, trainRows: 10, valRows: 2, notes: [] });
    const manifest = JSON.parse(readFileSync(path.join(out, 'graft-job.json'), 'utf8'));
    expect(manifest.id).toBe(r.id);
    expect(manifest.name).toBe('tim-remote');
    expect(manifest.dataset.name).toBe('tim.jsonl');
    expect(manifest.settings.train).toMatchObject({ lr: 1e-3, total_steps: 5, batch: 2, grad_accum: 2, schedule: 'linear', weight_decay: 0.01, beta2: 0.99, max_grad_norm: 0.5, seed: 4 });
    expect(existsSync(path.join(out, 'train.py'))).toBe(true);
    // Exporting is not training: the Train form's remembered settings are left as they were.
    expect((await call('settings.get')).lastTrain ?? null).toEqual(Object.keys(settings).length ? settings : null);

    await expect(call('train.exportJob', { settings: s, out })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('not empty') });
    const bad = await call('datasets.import', { name: 'broken.jsonl', content: '{"nope": 1}\n' });
    await expect(call('train.exportJob', { settings: { ...s, datasetId: bad.id }, out: path.join(tmp, 'bundles', 'bad') })).rejects.toMatchObject({
      message: expect.stringMatching(/^broken\.jsonl: /),
    });
    await expect(call('train.exportJob', { settings: { ...s, rank: 0 }, out: path.join(tmp, 'bundles', 'x') })).rejects.toMatchObject({ code: 'BAD_INPUT', field: 'rank' });
  });
});
