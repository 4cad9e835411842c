/**
 * Decode speed and time to first token: stories260K and a random model with SmolLM2-135M's shapes,
 * one stream and 4 variants side by side (base + 3 adapters in one batched decode).
 *   npx tsx bench/decode.ts [--device cpu|gpu] [--tokens 64]
 */
import { loraSlots } from '../src-main/engine/adapters/lora.js';
import type { AdapterWeights } from '../src-main/engine/adapters/adapter-weights.js';
import { LORA_TARGETS } from '../src-main/engine/adapters/lora-config.js';
import { generate, type Variant } from '../src-main/engine/infer/generate.js';
import { loadModel, type LoadedModel } from '../src-main/engine/model.js';
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import type { ModelSpec } from '../src-main/engine/models/spec.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { arg, benchModel, commit, machine, STORIES, writeResult } from './common.js';

export function adapter(spec: ModelSpec, seed: number): AdapterWeights {
  const tensors = new Map<string, Float32Array>();
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.02;
  for (const slot of loraSlots(spec, { r: 16, targets: [...LORA_TARGETS] })) {
    tensors.set(slot.peftA, Float32Array.from({ length: slot.shapeA[0] * slot.shapeA[1] }, rnd));
    tensors.set(slot.peftB, Float32Array.from({ length: slot.shapeB[0] * slot.shapeB[1] }, rnd));
  }
  return { r: 16, alpha: 32, rslora: false, targets: [...LORA_TARGETS], tensors };
}

async function measure(model: LoadedModel, variants: Variant[], pref: DevicePref, tokens: number) {
  const device = await resolveDevice(pref);
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const run = () => generate({ model, device, tokenizer: null, prompt, variants, maxTokens: tokens, sampling: { temperature: 0 }, stopAtEos: false });
  await run(); // warm-up: session creation and first-run allocations are not decode speed
  const best = { ttft: Infinity, tps: 0 };
  for (let i = 0; i < 3; i++) {
    const r = await run();
    best.ttft = Math.min(best.ttft, r[0].ttftMs);
    best.tps = Math.max(best.tps, r[0].tokensPerSecond);
  }
  return { ttft_ms: +best.ttft.toFixed(2), tokens_per_s_per_stream: +best.tps.toFixed(1), tokens_per_s_total: +(best.tps * variants.length).toFixed(1) };
}

export async function decodeBench(pref: DevicePref, tokens: number, models: [string, string][]) {
  const device = await resolveDevice(pref);
  const results: object[] = [];
  for (const [name, path] of models) {
    const model = await loadModel(path);
    const single = await measure(model, [{ adapters: [] }], pref, tokens);
    const four = await measure(model, [{ adapters: [] }, ...[1, 2, 3].map((k) => ({ adapters: [{ weights: adapter(model.spec, k), scale: 1 }] }))], pref, tokens);
    results.push({ model: name, prompt_tokens: 32, new_tokens: tokens, single_stream: single, side_by_side_4: four });
    console.log(name, JSON.stringify({ single, four }));
  }
  return {
    what: 'Graft decode: greedy, fp32, KV cache on the device; best of 3 runs after a warm-up. side_by_side_4 = base + 3 rank-16 adapters (all 7 targets) in one batched decode.',
    device: `${device.ep}: ${device.name}`,
    machine: machine(),
    date: new Date().toISOString(),
    commit: commit(),
    results,
    peers: {
      note: 'Peer figures measured on the H100 GPU machine (shared/anchors); the anchors hold no CPU peer figures.',
      llamacpp_h100_tg128_smollm2_f16_tok_s: 945.0,
      hf_generate_h100_smollm2_b1_tok_s: 12.2,
      ort_webgpu_h100_plain_decode_step_135m_ms: 8.6,
    },
  };
}

async function main() {
  const pref = arg('device', 'cpu') as DevicePref;
  const result = await decodeBench(pref, Number(arg('tokens', '64')), [
    ['stories260K', STORIES],
    ['smollm2-135m-shape (random init)', await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES)],
  ]);
  console.log('wrote', writeResult(`decode-${(await resolveDevice(pref)).kind}-${new Date().toISOString().slice(0, 10)}`, result));
}

if (process.argv[1]?.endsWith('decode.ts')) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
