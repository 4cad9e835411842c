import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import { argmax } from '../../../src-main/engine/infer/sampling.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice, type DeviceInfo, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { randomAdapter } from './helpers.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

// The fused graph's on-device argmax (greedy decoding reads back ids, not logits) against the host's
// argmax over the same graph's logits, step by step on the same inputs: identical ids, no tolerance.

const SHAPE: HfConfig = { ...TINY_LLAMA, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 96 };
const ARCHS: Record<string, Partial<HfConfig>> = {
  llama: {},
  qwen3: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 16 },
};

let dir: string;
const models = new Map<string, LoadedModel>();
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-greedy-'));
  for (const [arch, cfg] of Object.entries(ARCHS)) {
    models.set(arch, await loadModel(await writeRandomModel(path.join(dir, arch), { ...SHAPE, ...cfg }, { seed: 5, embedStd: 1, std: 0.2 })));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const prompt = [1, 17, 23, 5, 42, 9, 77];
/** Two decoders of the same two rows, the base and a LoRA row (from a fixed seed), to run two ways side by side. */
async function twoDecoders(model: LoadedModel, device: DeviceInfo): Promise<[KvDecoder, KvDecoder]> {
  const rows: RowAdapter[][] = [[], [{ weights: randomAdapter(model.spec, 4, ['q', 'v', 'down'], 1, 0.3), scale: 1 }]];
  const layout = layoutFor(rows);
  const make = async () => {
    const d = new KvDecoder(model, { device, rows: rows.length, capacity: 64, lora: layout });
    await d.setLora(rowLoraFeeds(model.spec, layout!, rows));
    return d;
  };
  return [await make(), await make()];
}

describe.each(Object.keys(ARCHS))('greedy ids computed on the device, random %s model', (arch) => {
  it.each([
    ['CPU EP', 'cpu', true],
    [gpuName, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])('%s: equal to the argmax of the logits at every step, for every row', async (_n, pref, enabled) => {
    if (!enabled) return;
    const model = models.get(arch)!;
    const device = await resolveDevice(pref);
    const [onDevice, onHost] = await twoDecoders(model, device);
    try {
      let ids = await onDevice.prefillGreedy([prompt, prompt], 12);
      let logits = await onHost.prefill([prompt, prompt], 12);
      expect(onDevice.mode).toBe('fused');
      const V = model.spec.vocab;
      const seen = new Set<string>();
      for (let s = 0; s < 12; s++) {
        const host = [0, 1].map((b) => argmax(logits, b * V, (b + 1) * V));
        expect(Array.from(ids), `step ${s}`).toEqual(host);
        seen.add(host.join(','));
        ids = await onDevice.decodeGreedy(host);
        logits = await onHost.decode(host);
      }
      // the rows and steps really differ, so agreement is not about one repeated token
      expect(seen.size).toBeGreaterThan(3);
    } finally {
      await onDevice.dispose();
      await onHost.dispose();
    }
  }, 120_000);
});

// Greedy steps chained on the device (each step's ids feed the next where they were computed, one read
// for the lot) against the same steps one at a time with a read after each: identical ids, and the caches
// the chain wrote in place serve the next step as well (the logits after it agree).
describe('greedy steps chained on the device', () => {
  it.each([
    ['CPU EP', 'cpu', true],
    [gpuName, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])('%s: same ids as one step at a time, and the caches continue from there', async (_n, pref, enabled) => {
    if (!enabled) return;
    const model = models.get('llama')!;
    const device = await resolveDevice(pref);
    const [chained, stepped] = await twoDecoders(model, device);
    try {
      const first = await chained.prefillGreedy([prompt, prompt], 20);
      expect(Array.from(await stepped.prefillGreedy([prompt, prompt], 20))).toEqual(Array.from(first));
      const blocks = await chained.decodeGreedyChain(Array.from(first), 5);
      let ids = first;
      const oneByOne: number[][] = [];
      for (let s = 0; s < 5; s++) oneByOne.push(Array.from((ids = await stepped.decodeGreedy(Array.from(ids)))));
      expect(blocks.map((b) => Array.from(b))).toEqual(oneByOne);
      expect(chained.length).toBe(stepped.length);
      // a second chain picks up from the caches the first wrote
      const more = await chained.decodeGreedyChain(Array.from(blocks[4]), 7);
      for (let s = 0; s < 7; s++) expect(Array.from(more[s]), `step ${5 + s}`).toEqual(Array.from((ids = await stepped.decodeGreedy(Array.from(ids)))));
      // the ids do change along the way, so agreement is not about one repeated token
      expect(new Set([...blocks, ...more].map((m) => m.join(','))).size).toBeGreaterThan(2);
      const last = Array.from(more[6]);
      const [a, b] = [await chained.decode(last), await stepped.decode(last)];
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      // same graph, same inputs, same device: equal up to the order GPU reductions happen to take
      expect(diff).toBeLessThan(1e-5);
    } finally {
      await chained.dispose();
      await stepped.dispose();
    }
  }, 120_000);
});
