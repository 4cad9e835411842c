/**
 * The adapter family (issue 16) in the Adapters and Chat channels, below the UI: the library's method entries
 * and their exports, library adapters of mixed methods side by side in one batched run, and composition per
 * Chat column (stack, weighted merge, AdapterDrop) through the engine's composeRow, over the real handler table
 * and engine worker with stories260K.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOTTLENECK_DEFAULTS, bottleneckMethod } from '../../src-main/engine/adapters/bottleneck';
import { doraMethod } from '../../src-main/engine/adapters/dora';
import { ia3Method } from '../../src-main/engine/adapters/ia3';
import type { MethodAdapter } from '../../src-main/engine/adapters/method';
import { writeMethodFolder } from '../../src-main/engine/adapters/method-folder';
import { prefixMethod } from '../../src-main/engine/adapters/prefix';
import { loadModel } from '../../src-main/engine/model';
import type { ChatColumn, ChatGenerateReq } from '../../src-main/ipc/chat';
import type { Channel, HandlerTable, RequestOf, ResponseOf } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';
import { createHandlers } from '../../src-main/ipc/handlers';
import { createServices, type Services } from '../../src-main/services/index';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODEL = path.join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const have = existsSync(MODEL);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-chat-compose-'));
const saved = { lib: process.env.GRAFT_LIBRARY, xdg: process.env.XDG_CONFIG_HOME };
let services: Services;
let table: HandlerTable;
const ids: Record<string, string> = {};

async function call<C extends Channel>(channel: C, req: RequestOf<C>): Promise<ResponseOf<C>> {
  const r = await dispatch(table, channel, req, { shell: 'browser' });
  if (!r.ok) throw Object.assign(new Error(`${channel}: ${r.error.code} ${r.error.message}`), r.error);
  return r.value as ResponseOf<C>;
}

beforeAll(async () => {
  if (!have) return;
  process.env.GRAFT_LIBRARY = path.join(tmp, 'library');
  process.env.XDG_CONFIG_HOME = path.join(tmp, 'config');
  services = createServices({ name: 'graft', version: 'test', platform: process.platform });
  table = createHandlers(services);
  const model = await loadModel(MODEL);
  // Adapters moved well off their identity init (as training would), so each one changes the greedy text.
  const moved = (m: MethodAdapter, seed: number) => {
    let s = seed;
    const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    return new Map([...m.init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/prompt_embeddings/.test(k) ? 4 * r() : /lora_B|adapter_up/.test(k) ? 0.5 * r() : x * (1 + 0.8 * r())))]));
  };
  const make: [string, MethodAdapter][] = [
    ['houlsby', bottleneckMethod(model.spec, { kind: 'houlsby', name: 'graft', ...BOTTLENECK_DEFAULTS.houlsby })],
    ['prefix', prefixMethod(model.spec, { virtualTokens: 4 })],
    ['ia3a', ia3Method(model.spec)],
    ['ia3b', ia3Method(model.spec)],
    ['dora', doraMethod(model.spec, { r: 4, alpha: 8, rslora: false, targets: ['q', 'v'] })],
  ];
  try {
    for (const [k, [name, m]] of make.entries()) {
      writeMethodFolder(path.join(tmp, name), m, moved(m, 7 + k));
      ids[name] = (await call('adapters.import', { path: path.join(tmp, name), name, basePath: MODEL })).entry.meta.id;
    }
  } finally {
    model.source.close();
  }
}, 120_000);

afterAll(async () => {
  await services?.dispose();
  process.env.GRAFT_LIBRARY = saved.lib;
  process.env.XDG_CONFIG_HOME = saved.xdg;
  if (saved.lib === undefined) delete process.env.GRAFT_LIBRARY;
  if (saved.xdg === undefined) delete process.env.XDG_CONFIG_HOME;
  rmSync(tmp, { recursive: true, force: true });
});

let run = 0;
const texts = async (columns: ChatColumn[]): Promise<string[]> => {
  const req: ChatGenerateReq = {
    runId: `compose-${run++}`,
    model: MODEL,
    device: 'cpu',
    promptFormat: 'plain',
    messages: [{ role: 'user', content: 'Once upon a time' }],
    columns,
    sampling: { temperature: 0, maxTokens: 16 },
  };
  return (await call('chat.generate', req)).results.map((r) => r.text);
};
const col = (name: string | null, more: Partial<ChatColumn> = {}): ChatColumn => ({ adapterId: name === null ? null : ids[name], scale: 1, ...more });

describe.skipIf(!have)('Chat columns with the adapter family (stories260K missing: skipped)', () => {
  it('decodes base | DoRA | Houlsby | prefix in one batch, each column as it decodes alone', async () => {
    const names = [null, 'dora', 'houlsby', 'prefix'];
    const together = await texts(names.map((n) => col(n)));
    const alone = await Promise.all(names.map(async (n) => (await texts([col(n)]))[0]));
    expect(together).toEqual(alone);
    expect(new Set(together).size, JSON.stringify(together)).toBe(4);
  });

  it('composes per column: a stack, a weighted merge and AdapterDrop, as the composition schema says', async () => {
    const [base, ia3a, stack, dropped] = await texts([
      col(null),
      col('ia3a'),
      col('ia3a', { composed: [{ adapterId: ids.houlsby, weight: 1 }] }),
      // AdapterDrop over all 5 layers: no adapter left, the base's reply
      col('ia3a', { compose: { adapterDrop: 5 } }),
    ]);
    const [merged, mergedHalf] = await texts([
      col('ia3a', { composed: [{ adapterId: ids.ia3b, weight: 1 }], compose: { compose: 'merge' } }),
      col('ia3a', { scale: 0.5, composed: [{ adapterId: ids.ia3b, weight: 0.5 }], compose: { compose: 'merge' } }),
    ]);
    expect(ia3a).not.toBe(base);
    expect(stack).not.toBe(ia3a);
    expect(merged).not.toBe(mergedHalf);
    expect(dropped).toBe(base);
  }, 60_000);

  it('refuses a weight on stacked adapters, naming the composition field', async () => {
    await expect(texts([col('ia3a', { composed: [{ adapterId: ids.houlsby, weight: 0.5 }] })])).rejects.toMatchObject({ code: 'BAD_INPUT', field: 'compose' });
    await expect(texts([col('ia3a', { compose: { compose: 'sum' as 'merge' } })])).rejects.toMatchObject({ code: 'BAD_INPUT', field: 'compose' });
  });
});

describe.skipIf(!have)('library entries of the adapter family (stories260K missing: skipped)', () => {
  it('lists each method, and exports each with the formats its method takes', async () => {
    const list = await call('adapters.list', {});
    expect(Object.fromEntries(list.entries.map((e) => [e.meta.name, e.meta.method]))).toMatchObject({ houlsby: 'houlsby', prefix: 'prefix', ia3a: 'ia3', dora: 'dora' });
    const out = (n: string) => path.join(tmp, 'exports', n);
    const lora = await call('adapters.exportMethod', { id: ids.dora, out: out('dora-lora'), format: 'lora', loraRank: 4 });
    expect(lora.relativeError).toBeGreaterThanOrEqual(0);
    expect(existsSync(path.join(lora.out, 'adapter_model.safetensors'))).toBe(true);
    const hub = await call('adapters.exportMethod', { id: ids.houlsby, out: out('houlsby-hub'), format: 'adapterhub' });
    expect(existsSync(path.join(hub.out, 'adapter.safetensors'))).toBe(true);
    // the stored folder of any method, as PEFT loads it (DoRA, IA³, prefix)
    const folder = await call('adapters.export', { id: ids.prefix, out: out('prefix'), format: 'peft' });
    expect(existsSync(path.join(folder.out, 'adapter_config.json'))).toBe(true);
  });

  it('refuses what a method cannot take, naming the field and what to use instead', async () => {
    await expect(call('adapters.exportMethod', { id: ids.houlsby, out: path.join(tmp, 'x1'), format: 'merged' })).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'format' });
    await expect(call('adapters.exportMethod', { id: ids.dora, out: path.join(tmp, 'x2'), format: 'lora' })).rejects.toMatchObject({ field: 'loraRank' });
    const gguf = call('adapters.export', { id: ids.ia3a, out: path.join(tmp, 'x3.gguf'), format: 'gguf' });
    await expect(gguf).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'format', message: expect.stringContaining('merged, lora, gguf-lora') });
    await expect(call('adapters.blend', { parts: [{ id: ids.ia3a, weight: 1 }, { id: ids.ia3b, weight: 1 }], name: 'nope' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});
