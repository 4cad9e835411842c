/**
 * The Adapters and Chat channels end to end below the UI: the real handler table, the real engine worker
 * thread, the stories260K model and a temporary library and user-data folder.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdapterWeights } from '../../src-main/engine/adapters/adapter-weights';
import { writePeftFiles } from '../../src-main/engine/adapters/compat';
import { LORA_TARGETS, peftTensorName } from '../../src-main/engine/adapters/lora-config';
import { targetDims } from '../../src-main/engine/adapters/lora';
import { loadModel } from '../../src-main/engine/model';
import type { Channel, HandlerTable, RequestOf, ResponseOf } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';
import { createHandlers } from '../../src-main/ipc/handlers';
import type { ChatGenerateReq, ChatTokenEvent, Conversation } from '../../src-main/ipc/chat';
import { createServices, type Services } from '../../src-main/services/index';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = path.join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const QWEN = path.join(ROOT, '../shared/fixtures/hf-reference/qwen2/model');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-ac-'));
const saved = { lib: process.env.GRAFT_LIBRARY, xdg: process.env.XDG_CONFIG_HOME };
let services: Services;
let table: HandlerTable;

async function call<C extends Channel>(channel: C, req: RequestOf<C>): Promise<ResponseOf<C>> {
  const r = await dispatch(table, channel, req, { shell: 'browser' });
  if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
  return r.value as ResponseOf<C>;
}

async function randomAdapterDir(name: string, r: number, seed: number, amp: number): Promise<string> {
  const m = await loadModel(MODEL);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * amp;
  const tensors = new Map<string, Float32Array>();
  for (let layer = 0; layer < m.spec.layers; layer++) {
    for (const t of LORA_TARGETS) {
      const d = targetDims(m.spec, t);
      tensors.set(peftTensorName(layer, t, 'A'), Float32Array.from({ length: r * d.in }, rand));
      tensors.set(peftTensorName(layer, t, 'B'), Float32Array.from({ length: d.out * r }, rand));
    }
  }
  m.source.close();
  const w: AdapterWeights = { r, alpha: 2 * r, rslora: false, targets: [...LORA_TARGETS], tensors };
  const dir = path.join(tmp, name);
  await writePeftFiles(dir, w);
  return dir;
}

beforeAll(() => {
  process.env.GRAFT_LIBRARY = path.join(tmp, 'library');
  process.env.XDG_CONFIG_HOME = path.join(tmp, 'config');
  services = createServices({ name: 'graft', version: 'test', platform: process.platform });
  table = createHandlers(services);
});

afterAll(async () => {
  await services.dispose();
  process.env.GRAFT_LIBRARY = saved.lib;
  process.env.XDG_CONFIG_HOME = saved.xdg;
  if (saved.lib === undefined) delete process.env.GRAFT_LIBRARY;
  if (saved.xdg === undefined) delete process.env.XDG_CONFIG_HOME;
  rmSync(tmp, { recursive: true, force: true });
});

describe('adapters and chat over the handler table', () => {
  let idA = '';
  let idB = '';

  it('imports, lists, edits, deletes and undoes', async () => {
    const a = await call('adapters.import', { path: await randomAdapterDir('a', 4, 3, 0.6), name: 'Loud', basePath: MODEL });
    const b = await call('adapters.import', { path: await randomAdapterDir('b', 2, 9, 0.2), name: 'Quiet' });
    idA = a.entry.meta.id;
    idB = b.entry.meta.id;
    expect(a.entry.meta.base?.id).toBe(path.resolve(MODEL));
    expect(b.entry.meta.base).toBeNull();
    // A base whose shapes differ: refused, naming the first thing that does not fit.
    const other = await dispatch(table, 'adapters.import', { path: path.join(tmp, 'a'), basePath: QWEN }, { shell: 'browser' });
    expect(other).toMatchObject({ ok: false, error: { code: 'INCOMPATIBLE' } });
    await call('adapters.setTags', { id: idA, tags: ['zara', ' stories ', 'zara'] });
    await call('adapters.setNotes', { id: idA, notes: 'trained on Zara' });
    await call('adapters.rename', { id: idB, name: 'Whisper' });
    let list = await call('adapters.list', { sort: 'rank', descending: true });
    expect(list.entries.map((e) => e.meta.name)).toEqual(['Loud', 'Whisper']);
    expect(list.allTags).toEqual(['stories', 'zara']);
    expect((await call('adapters.list', { query: 'zara' })).entries.map((e) => e.meta.id)).toEqual([idA]);
    expect((await call('adapters.list', { tags: ['stories'] })).entries).toHaveLength(1);
    await call('adapters.delete', { id: idB });
    list = await call('adapters.list', {});
    expect(list.entries.map((e) => e.meta.id)).toEqual([idA]);
    expect(list.trash.map((t) => t.name)).toEqual(['Whisper']);
    expect((await call('adapters.restore', {})).meta.name).toBe('Whisper');
    expect((await call('adapters.list', {})).entries).toHaveLength(2);
  });

  it('rejects a bad request with a readable error', async () => {
    const r = await dispatch(table, 'adapters.export', { id: idA, format: 'exe', out: '/tmp/x' }, { shell: 'browser' });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'BAD_INPUT', field: 'format', message: 'must be one of peft, peft-zip, gguf, merged, merged-gguf, got "exe"' },
    });
    const m = await dispatch(table, 'adapters.import', { path: MODEL, basePath: MODEL }, { shell: 'browser' });
    expect(m.ok).toBe(false);
    const gen = {
      runId: 'bad',
      model: MODEL,
      device: 'cpu',
      promptFormat: 'plain',
      messages: [{ role: 'user', content: 'x' }],
      columns: [{ adapterId: null, scale: 1 }],
      sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 4 },
    };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...gen, columns: Array.from({ length: 5 }, () => ({ adapterId: null, scale: 1 })) }, '"columns" must be a list of 1 to 4 columns'],
      // Sampling is checked by the generation schema: the field by its key, the rule worded without it.
      [{ ...gen, sampling: { ...gen.sampling, temperature: null } }, 'must be a number >= 0 and <= 5, got null'],
      [{ ...gen, messages: [{ role: 'robot', content: 'x' }] }, '"messages[0].role" must be system, user or assistant'],
      [{ ...gen, columns: [{ adapterId: 7, scale: 1 }] }, '"columns[0].adapterId" must be an adapter id or null'],
      [{ ...gen, columns: [{ adapterId: 'no-such-adapter', scale: 1 }] }, 'no adapter "no-such-adapter"'],
    ];
    for (const [req, message] of cases) {
      expect(await dispatch(table, 'chat.generate', req, { shell: 'browser' })).toMatchObject({
        ok: false,
        error: { message: expect.stringContaining(message) },
      });
    }
    expect(await dispatch(table, 'chat.generate', cases[1][0], { shell: 'browser' })).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', field: 'temperature' } });
  });

  it('exports to every format and imports the zip back', async () => {
    const zip = await call('adapters.export', { id: idA, format: 'peft-zip', out: path.join(tmp, 'out', 'loud.zip') });
    expect(existsSync(zip.out)).toBe(true);
    const back = await call('adapters.import', { path: zip.out, name: 'Loud again', basePath: MODEL });
    expect(back.entry.meta.r).toBe(4);
    const gguf = await call('adapters.export', { id: idA, format: 'gguf', out: path.join(tmp, 'out', 'loud.gguf') });
    expect(gguf.extra).toHaveLength(1);
    expect(existsSync(gguf.extra[0])).toBe(true);
    // A GGUF LoRA comes back through the base model's config; a bare safetensors file with its config beside it too.
    const fromGguf = await call('adapters.import', { path: gguf.out, name: 'Loud from GGUF', basePath: MODEL });
    expect(fromGguf.entry.meta.r).toBe(4);
    const bare = await call('adapters.import', { path: path.join(tmp, 'a', 'adapter_model.safetensors'), name: 'Loud bare' });
    expect(bare.entry.meta.targets.length).toBeGreaterThan(0);
    await call('adapters.delete', { id: fromGguf.entry.meta.id });
    await call('adapters.delete', { id: bare.entry.meta.id });
    const merged = await call('adapters.export', { id: idA, format: 'merged', out: path.join(tmp, 'out', 'merged') });
    expect(existsSync(path.join(merged.out, 'config.json'))).toBe(true);
    await call('adapters.delete', { id: back.entry.meta.id });
  });

  it('blends exactly, and compressed with the reconstruction error', async () => {
    const exact = await call('adapters.blend', {
      parts: [
        { id: idA, weight: 0.5 },
        { id: idB, weight: 0.5 },
      ],
      name: 'Mix',
    });
    expect(exact).toMatchObject({ mode: 'exact', relativeError: 0 });
    expect(exact.entry.meta.r).toBe(6);
    const small = await call('adapters.blend', {
      parts: [
        { id: idA, weight: 0.5 },
        { id: idB, weight: 0.5 },
      ],
      name: 'Mix',
      rank: 2,
    });
    expect(small.mode).toBe('compressed');
    expect(small.relativeError).toBeGreaterThan(0);
    expect(small.entry.meta.name).toBe('Mix 2');
  });

  it('streams base and adapter side by side in one run, tokens tagged by column', async () => {
    const events: ChatTokenEvent[] = [];
    const off = services.events.on('chat.token', (e) => events.push(e));
    const req: ChatGenerateReq = {
      runId: 'run-1',
      model: MODEL,
      device: 'cpu',
      promptFormat: 'plain',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      columns: [
        { adapterId: null, scale: 1 },
        { adapterId: idA, scale: 1 },
      ],
      sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 24, seed: 1 },
    };
    const res = await call('chat.generate', req);
    off();
    expect(res.results).toHaveLength(2);
    for (const v of [0, 1]) {
      const streamed = events
        .filter((e) => e.runId === 'run-1' && e.variant === v)
        .map((e) => e.text)
        .join('');
      expect(streamed.length).toBeGreaterThan(0);
      expect(streamed).toBe(res.results[v].text);
    }
    expect(res.results[0].text).not.toBe(res.results[1].text);
    // stories260K has no chat template: the template format falls back to ChatML and says so
    const t = await call('chat.generate', {
      ...req,
      runId: 'run-2',
      promptFormat: 'template',
      columns: [req.columns[0]],
      sampling: { ...req.sampling, maxTokens: 2 },
    });
    expect(t.templateWarning).toContain('ChatML');
  });

  it('stops a running generation from another request', async () => {
    let first!: () => void;
    const started = new Promise<void>((r) => (first = r));
    const off = services.events.on('chat.token', (e) => e.runId === 'run-stop' && first());
    const run = call('chat.generate', {
      runId: 'run-stop',
      model: MODEL,
      device: 'cpu',
      promptFormat: 'plain',
      messages: [{ role: 'user', content: 'Once' }],
      columns: [{ adapterId: null, scale: 1 }],
      sampling: { temperature: 0.8, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 480, seed: 5 },
    });
    await started;
    expect(await call('chat.stop', { runId: 'run-stop' })).toEqual({ stopped: true });
    const res = await run;
    off();
    expect(res.results[0].finish).toBe('cancelled');
    expect(res.results[0].tokens).toBeLessThan(480);
  });

  it('generates on the worker thread: the main event loop stays free while tokens stream', async () => {
    let tokens = 0;
    const off = services.events.on('chat.token', (e) => e.runId === 'run-loop' && tokens++);
    const run = call('chat.generate', {
      runId: 'run-loop',
      model: MODEL,
      device: 'cpu',
      promptFormat: 'plain',
      messages: [{ role: 'user', content: 'Once upon a time' }],
      columns: [
        { adapterId: null, scale: 1 },
        { adapterId: idA, scale: 0.5 },
      ],
      sampling: { temperature: 0.9, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 300, seed: 3 },
    });
    // Timer lateness on this (the main) thread while the run goes on.
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last - 5);
      last = now;
    }, 5);
    const res = await run;
    clearInterval(timer);
    off();
    expect(tokens).toBeGreaterThan(100);
    expect(res.results.every((r) => r.tokens > 50)).toBe(true);
    expect(worst).toBeLessThan(150);
  });

  it('saves, lists and reopens conversations', async () => {
    const conv: Conversation = {
      id: 'c-1',
      title: 'Zara test',
      mode: 'compare',
      created: '2026-01-01T00:00:00.000Z',
      updated: '2026-01-01T00:00:01.000Z',
      model: MODEL,
      system: '',
      promptFormat: 'plain',
      columns: [{ adapterId: null, scale: 1 }],
      sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, maxTokens: 8 },
      turns: [{ user: 'hi', replies: [{ text: 'there', finish: 'eos' }] }],
    };
    await call('conversations.save', conv);
    expect(existsSync(path.join(tmp, 'config', 'graft', 'conversations', 'c-1.json'))).toBe(true);
    expect(await call('conversations.list', undefined)).toEqual([
      { id: 'c-1', title: 'Zara test', mode: 'compare', updated: conv.updated, turns: 1 },
    ]);
    expect(await call('conversations.get', { id: 'c-1' })).toEqual(conv);
    const bad = await dispatch(table, 'conversations.get', { id: '../etc/passwd' }, { shell: 'browser' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    await call('conversations.delete', { id: 'c-1' });
    expect(await call('conversations.list', undefined)).toEqual([]);
  });
});
