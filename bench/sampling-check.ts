/**
 * The device sampler on a real GPU against the host's (infer/device-sampler.ts): two rows side by side (the base
 * and an adapter) generate 128 tokens with the Chat's sampling and one seed, drawn on the device (chains) and on
 * the host (the same captured steps, candidates read back each step); prints how many tokens each row keeps in
 * common before the first difference. The host draws in float64 and the device in float32, so a draw whose
 * uniform falls within rounding of a boundary may differ, and from there the texts go apart.
 */
import { generate } from '../src-main/engine/infer/generate.js';
import { captureStats } from '../src-main/engine/infer/decode-capture.js';
import { CHAT_SAMPLING } from '../src-main/engine/options/generate.js';
import type { LoadedModel } from '../src-main/engine/model.js';
import type { DeviceInfo } from '../src-main/engine/runtime/device.js';
import type { Variant } from '../src-main/engine/infer/generate.js';

export async function samplingCheck(model: LoadedModel, device: DeviceInfo, name: string, variants: Variant[], seeds = [1, 2, 3]) {
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const run = async (onDevice: boolean, seed: number) => {
    process.env.GRAFT_DEVICE_SAMPLING = onDevice ? '1' : '0';
    try {
      return (await generate({ model, device, tokenizer: null, prompt, variants, maxTokens: 128, sampling: { ...CHAT_SAMPLING, seed }, stopAtEos: false })).map((r) => r.ids);
    } finally {
      delete process.env.GRAFT_DEVICE_SAMPLING;
    }
  };
  const rows: { seed: number; row: number; same_prefix: number; of: number }[] = [];
  const chains = captureStats.sampledChains;
  for (const seed of seeds) {
    const [dev, host] = [await run(true, seed), await run(false, seed)];
    dev.forEach((ids, row) => {
      const first = ids.findIndex((id, i) => id !== host[row][i]);
      rows.push({ seed, row, same_prefix: first < 0 ? ids.length : first, of: ids.length });
    });
  }
  const r = { bench: 'sampling-check', model: name, device: device.name, sampled_chains: captureStats.sampledChains - chains, rows };
  console.log(JSON.stringify(r));
  return r;
}
