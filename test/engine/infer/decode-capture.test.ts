import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { CHAIN_SLOTS, captureStats } from '../../../src-main/engine/infer/decode-capture.js';
import { SamplerCapture } from '../../../src-main/engine/infer/sampler-capture.js';
import { CHAT_SAMPLING } from '../../../src-main/engine/options/generate.js';
import { generate } from '../../../src-main/engine/infer/generate.js';
import type { SamplingOpts } from '../../../src-main/engine/infer/sampling.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice, type DeviceInfo } from '../../../src-main/engine/runtime/device.js';
import { createTimings } from '../../../src-main/engine/runtime/session.js';
import { randomAdapter } from './helpers.js';
import { gpuOk, gpuSkipReason } from '../webgpu-under-test.js';

// Greedy chains replayed from the WebGPU EP's graph capture (GRAFT_GRAPH_CAPTURE=1) against the same chains
// run op by op: the same ids at every step, every row, with no tolerance (the same kernels on the same
// buffers). Capture exists on WebGPU only; lavapipe runs it in CI.

const SHAPE: HfConfig = {
  ...TINY_LLAMA,
  hidden_size: 64,
  intermediate_size: 80,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 96,
};
const ARCHS: Record<string, Partial<HfConfig>> = {
  qwen2: { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: false },
  qwen3: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 16 },
};

let dir: string;
const models = new Map<string, LoadedModel>();
// Chains keep their lengths whatever a step takes here (generate.ts caps a chain at ~150 ms of the last one's steps,
// which lavapipe's steps would reach); the cap's own test sets it back.
process.env.GRAFT_CHAIN_BURST_MS = '0';
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-capture-'));
  for (const [arch, cfg] of Object.entries(ARCHS))
    models.set(
      arch,
      await loadModel(await writeRandomModel(path.join(dir, arch), { ...SHAPE, ...cfg }, { seed: 7, embedStd: 1, std: 0.2 })),
    );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Greedy ids of each row: prefill, then chains of `chain` steps (the last one shorter) up to `steps`. */
async function greedy(
  model: LoadedModel,
  device: DeviceInfo,
  rows: RowAdapter[][],
  prompt: number[],
  steps: number,
  chain: number,
  capture: boolean,
): Promise<number[][]> {
  const before = process.env.GRAFT_GRAPH_CAPTURE;
  process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
  const layout = layoutFor(rows);
  const dec = new KvDecoder(model, { device, rows: rows.length, capacity: 64, lora: layout });
  try {
    if (layout) await dec.setLora(rowLoraFeeds(model.spec, layout, rows));
    let ids = Array.from(
      await dec.prefillGreedy(
        rows.map(() => prompt),
        steps,
      ),
    );
    // the captured session opens in the background; chains before then run op by op (the fallback)
    expect(await dec.captureReady()).toBe(capture);
    const out = rows.map((_, b) => [ids[b]]);
    for (let done = 1; done < steps;) {
      const n = Math.min(chain, steps - done);
      const got = await dec.decodeGreedyChain(ids, n);
      got.forEach((step) => step.forEach((id, b) => out[b].push(id)));
      ids = Array.from(got[got.length - 1]);
      done += n;
    }
    expect(dec.mode).toBe('fused');
    return out;
  } finally {
    await dec.dispose();
    if (before === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
    else process.env.GRAFT_GRAPH_CAPTURE = before;
  }
}

describe.each(Object.keys(ARCHS))('graph-captured greedy chains, random %s model', (arch) => {
  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: the same ids as plain runs, across generations that reuse the captures`,
    async () => {
      const model = models.get(arch)!;
      const device = await resolveDevice('gpu');
      const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 1, 0.3);
      const b = randomAdapter(model.spec, 4, ['k', 'up', 'o'], 2, 0.3);
      // two generations with other adapters and another prompt: the second finds the captures made by the
      // first and must see its own adapter rows, prompt and positions through them
      const runs: [RowAdapter[][], number[]][] = [
        [
          [[], [{ weights: a, scale: 1 }], [{ weights: b, scale: 0.5 }]],
          [1, 17, 23, 5, 42, 9, 77],
        ],
        [
          [[{ weights: b, scale: 1 }], [], [{ weights: a, scale: 0.7 }]],
          [3, 8, 61, 2],
        ],
      ];
      const chainsBefore = captureStats.chains;
      for (const [rows, prompt] of runs) {
        const plain = await greedy(model, device, rows, prompt, 20, 8, false);
        const captured = await greedy(model, device, rows, prompt, 20, 8, true);
        expect(captured).toEqual(plain);
        // the rows and steps differ, so agreement is not one repeated token
        expect(new Set(plain.flat()).size).toBeGreaterThan(4);
      }
      // chains of 8, 8 and 3 per generation ran from captures, not the fallback
      expect(captureStats.chains - chainsBefore).toBe(6);
    },
    120_000,
  );

  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: the captured session serves the prefill too, so no onnxruntime-node session holds the weights again`,
    async () => {
      // a model object of its own: its pool holds nothing from the tests above
      const model = await loadModel(models.get(arch)!.source.path);
      const device = await resolveDevice('gpu');
      const before = createTimings.length;
      const captured = await greedy(model, device, [[]], [4, 9, 16], 12, 4, true);
      const made = createTimings.slice(before).map((t) => t.graph);
      // the fused graph is opened once, by the captured runtime (its creation recorded with that suffix)
      expect(made.filter((g) => g.startsWith('fused_decode'))).toEqual([expect.stringMatching(/^fused_decode.*:captured$/)]);
      expect(captured).toEqual(await greedy(model, device, [[]], [4, 9, 16], 12, 4, false));
    },
    120_000,
  );

  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: with GRAFT_ONE_TOKEN=1 one row's steps replay a one-token graph over the same weights, and give the ids of plain runs`,
    async () => {
      const model = await loadModel(models.get(arch)!.source.path);
      const device = await resolveDevice('gpu');
      const before = createTimings.length;
      process.env.GRAFT_ONE_TOKEN = '1';
      let captured: Awaited<ReturnType<typeof greedy>>;
      try {
        captured = await greedy(model, device, [[]], [4, 9, 16], 20, 4, true);
      } finally {
        delete process.env.GRAFT_ONE_TOKEN;
      }
      // the any-length graph for the prefill and the one-token graph the steps replay, both captured sessions over
      // the weights put on the device once (runtime/shared-weights.ts)
      const made = createTimings.slice(before).map((t) => t.graph);
      expect(made.filter((g) => g.startsWith('fused_decode')).sort()).toEqual([expect.stringMatching(/^fused_decode_b1_t1_c\d+:captured$/), expect.stringMatching(/^fused_decode_b1_tany_c\d+:captured$/)]);
      expect(captured).toEqual(await greedy(model, device, [[]], [4, 9, 16], 20, 4, false));
    },
    120_000,
  );

  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: sampled steps replayed from the capture give the same tokens as plain runs (the same logits)`,
    async () => {
      const model = models.get(arch)!;
      const device = await resolveDevice('gpu');
      const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 3, 0.3);
      const variants = [{ adapters: [] }, { adapters: [{ weights: a, scale: 1 }] }];
      // onDevice: sampled steps chained and drawn on the device (device-sampler.ts), else drawn on the host
      const sample = async (capture: boolean, onDevice = false) => {
        const was = process.env.GRAFT_GRAPH_CAPTURE;
        process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
        process.env.GRAFT_DEVICE_SAMPLING = onDevice ? '1' : '0';
        try {
          const r = await generate({
            model,
            device,
            tokenizer: null,
            prompt: [2, 30, 11, 7],
            variants,
            maxTokens: 16,
            sampling: { temperature: 0.9, topK: 20, seed: 5 },
            stopAtEos: false,
          });
          return r.map((v) => v.ids);
        } finally {
          if (was === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
          else process.env.GRAFT_GRAPH_CAPTURE = was;
          delete process.env.GRAFT_DEVICE_SAMPLING;
        }
      };
      const steps = captureStats.steps;
      const tops = captureStats.topSteps;
      const captured = await sample(true);
      expect(captureStats.steps - steps).toBe(15); // every step after the prefill replayed
      // top-k sampling read each step's best logits only (device-topk.ts), not the vocabulary's
      expect(captureStats.topSteps - tops).toBe(15);
      const plain = await sample(false);
      expect(captured).toEqual(plain);
      expect(new Set(captured.flat()).size).toBeGreaterThan(3);
      // drawn on the device: chains of 8 and 7 steps, nothing read per step, the same tokens
      const [chains, tops2] = [captureStats.sampledChains, captureStats.topSteps];
      expect(await sample(true, true)).toEqual(plain);
      expect(captureStats.sampledChains - chains).toBe(2);
      expect(captureStats.topSteps - tops2).toBe(0);
    },
    120_000,
  );
});

describe('growing greedy chains in generate (8, 16, then 32 steps between reads), random qwen2 model', () => {
  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: a 44-token greedy generation replays chains of 8, 16 and 19 steps, in rounds over 8 captures, and gives the ids of plain runs`,
    async () => {
      const model = models.get('qwen2')!;
      const device = await resolveDevice('gpu');
      const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 6, 0.3);
      const run = async (capture: boolean) => {
        const was = process.env.GRAFT_GRAPH_CAPTURE;
        process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
        try {
          const r = await generate({ model, device, tokenizer: null, prompt: [5, 12, 40, 3], variants: [{ adapters: [] }, { adapters: [{ weights: a, scale: 1 }] }], maxTokens: 44, sampling: { temperature: 0, seed: 1 }, stopAtEos: false });
          return r.map((v) => v.ids);
        } finally {
          if (was === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
          else process.env.GRAFT_GRAPH_CAPTURE = was;
        }
      };
      const [chains, rounds] = [captureStats.chains, captureStats.rounds];
      const captured = await run(true);
      // 43 steps after the prefill: 8 + 16 + 19 (the last cut by maxTokens), each chain one read (chains of 8: 6);
      // the 16 in 2 rounds of the 8 captures, the 19 in 3 (8, 8 and 3), the earlier rounds' ids kept on the device
      expect(captureStats.chains - chains).toBe(3);
      expect(captureStats.rounds - rounds).toBe(3);
      expect(captureStats.slots).toBeLessThanOrEqual(CHAIN_SLOTS);
      expect(captured).toEqual(await run(false));
      // a chain kept to what the last one decoded in 1 ms: never below 8 steps, so 43 steps are 8, 8, 8, 8, 8, 3
      process.env.GRAFT_CHAIN_BURST_MS = '1';
      try {
        const before = captureStats.chains;
        expect(await run(true)).toEqual(captured);
        expect(captureStats.chains - before).toBe(6);
      } finally {
        process.env.GRAFT_CHAIN_BURST_MS = '0';
      }
      expect(captured.every((ids) => ids.length === 44)).toBe(true);
      expect(new Set(captured.flat()).size).toBeGreaterThan(4);
    },
    120_000,
  );
});

describe('graph-captured greedy chains in fp16 (GRAFT_DECODE_FP16=1), random qwen2 model', () => {
  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: the same ids as the fp16 graph run op by op, with fp16 caches and adapter rows in the capture's buffers`,
    async () => {
      const was = process.env.GRAFT_DECODE_FP16;
      process.env.GRAFT_DECODE_FP16 = '1';
      try {
        const model = await loadModel(models.get('qwen2')!.source.path);
        const device = await resolveDevice('gpu');
        const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 1, 0.3);
        const rows: RowAdapter[][] = [[], [{ weights: a, scale: 1 }]];
        const chainsBefore = captureStats.chains;
        const plain = await greedy(model, device, rows, [1, 17, 23, 5, 42], 12, 6, false);
        const captured = await greedy(model, device, rows, [1, 17, 23, 5, 42], 12, 6, true);
        expect(captured).toEqual(plain);
        expect(new Set(plain.flat()).size).toBeGreaterThan(4);
        expect(captureStats.chains - chainsBefore).toBe(2);
      } finally {
        if (was === undefined) delete process.env.GRAFT_DECODE_FP16;
        else process.env.GRAFT_DECODE_FP16 = was;
      }
    },
    120_000,
  );
});

describe('captured sampling among the best logits', () => {
  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: the Chat's sampling over a 3,000-word vocabulary (two chunks, 128 of 3,000 read) gives the tokens of plain runs`,
    async () => {
      const model = await loadModel(
        await writeRandomModel(path.join(dir, 'wide'), { ...SHAPE, ...ARCHS.qwen2, vocab_size: 3000 }, { seed: 8, embedStd: 1, std: 0.2 }),
      );
      const device = await resolveDevice('gpu');
      // onDevice: sampled steps chained and drawn on the device (device-sampler.ts), else drawn on the host
      const sample = async (capture: boolean, onDevice = false) => {
        const was = process.env.GRAFT_GRAPH_CAPTURE;
        process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
        process.env.GRAFT_DEVICE_SAMPLING = onDevice ? '1' : '0';
        try {
          const r = await generate({ model, device, tokenizer: null, prompt: [2, 30, 11, 7, 30, 11], variants: [{ adapters: [] }, { adapters: [] }], maxTokens: 24, sampling: { ...CHAT_SAMPLING, seed: 9 }, stopAtEos: false });
          return r.map((v) => v.ids);
        } finally {
          if (was === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
          else process.env.GRAFT_GRAPH_CAPTURE = was;
          delete process.env.GRAFT_DEVICE_SAMPLING;
        }
      };
      const tops = captureStats.topSteps;
      const captured = await sample(true);
      expect(captureStats.topSteps - tops).toBe(23);
      const plain = await sample(false);
      expect(captured).toEqual(plain);
      expect(new Set(captured.flat()).size).toBeGreaterThan(5);
      // the penalties, top-p and min-p drawn on the device, in chains of 8 and 15 (generate.ts chainLength), the 15
      // in 2 rounds of the 8 captures (decode-capture.ts CHAIN_SLOTS, each round its steps' uniforms): the same tokens
      const [chains, rounds] = [captureStats.sampledChains, captureStats.rounds];
      expect(await sample(true, true)).toEqual(plain);
      expect(captureStats.sampledChains - chains).toBe(2);
      expect(captureStats.rounds - rounds).toBe(1);
      expect(captureStats.slots).toBeLessThanOrEqual(CHAIN_SLOTS);
    },
    120_000,
  );
});

describe('captured sampling drawn on the device over the whole row', () => {
  it.skipIf(!gpuOk)(
    `WebGPU EP${gpuSkipReason}: plain temperature sampling (the CLI's default) and greedy with a repetition penalty give the tokens of plain runs`,
    async () => {
      const model = await loadModel(
        await writeRandomModel(path.join(dir, 'wide-plain'), { ...SHAPE, ...ARCHS.qwen2, vocab_size: 3000 }, { seed: 6, embedStd: 1, std: 0.2 }),
      );
      const device = await resolveDevice('gpu');
      const run = async (sampling: SamplingOpts, capture: boolean) => {
        const was = process.env.GRAFT_GRAPH_CAPTURE;
        process.env.GRAFT_GRAPH_CAPTURE = capture ? '1' : '0';
        try {
          const r = await generate({ model, device, tokenizer: null, prompt: [2, 30, 11, 7, 30, 11], variants: [{ adapters: [] }, { adapters: [] }], maxTokens: 20, sampling, stopAtEos: false });
          return r.map((v) => v.ids);
        } finally {
          if (was === undefined) delete process.env.GRAFT_GRAPH_CAPTURE;
          else process.env.GRAFT_GRAPH_CAPTURE = was;
        }
      };
      for (const sampling of [{ temperature: 0.8, seed: 3 }, { temperature: 0, repetitionPenalty: 1.4, seed: 3 }]) {
        const [chains, rounds] = [captureStats.sampledChains, captureStats.rounds];
        const captured = await run(sampling, true);
        // 19 steps: chains of 8 and 11, the 11 in 2 rounds (the marks of the penalty carried across them)
        expect(captureStats.sampledChains - chains, JSON.stringify(sampling)).toBe(2);
        expect(captureStats.rounds - rounds, JSON.stringify(sampling)).toBe(1);
        expect(captured, JSON.stringify(sampling)).toEqual(await run(sampling, false));
        expect(new Set(captured.flat()).size).toBeGreaterThan(5);
      }
    },
    120_000,
  );
});

describe('a device sampler that cannot open', () => {
  it.skipIf(!gpuOk)(`WebGPU EP${gpuSkipReason}: sampled steps are drawn on the host instead, with the same uniforms: the same tokens`, async () => {
    const model = models.get('qwen2')!;
    const device = await resolveDevice('gpu');
    const sample = async (onDevice: boolean) => {
      process.env.GRAFT_DEVICE_SAMPLING = onDevice ? '1' : '0';
      try {
        const r = await generate({ model, device, tokenizer: null, prompt: [2, 30, 11, 7], variants: [{ adapters: [] }], maxTokens: 12, sampling: { ...CHAT_SAMPLING, seed: 4 }, stopAtEos: false });
        return r.map((v) => v.ids);
      } finally {
        delete process.env.GRAFT_DEVICE_SAMPLING;
      }
    };
    const host = await sample(false);
    // the last test of this file: the failure is remembered for the rest of the process
    const open = vi.spyOn(SamplerCapture, 'open').mockRejectedValue(new Error('no sampler here'));
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const [chains, tops] = [captureStats.sampledChains, captureStats.topSteps];
      expect(await sample(true)).toEqual(host);
      expect(open).toHaveBeenCalledTimes(1);
      expect(captureStats.sampledChains - chains).toBe(0);
      expect(captureStats.topSteps - tops).toBe(11); // every step drawn from the candidates read back
      expect(logged.mock.calls.flat().join(' ')).toContain('no sampler here');
    } finally {
      open.mockRestore();
      logged.mockRestore();
    }
  }, 120_000);
});
