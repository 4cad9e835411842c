/**
 * Where a decode step's time goes: wall time per token beside the time spent inside ORT's run()
 * (GRAFT_PROFILE=1 prints the latter at exit). npx tsx bench/decode-profile.ts [--device gpu]
 */
import { generate } from '../src-main/engine/infer/generate.js';
import { loadModel } from '../src-main/engine/model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { arg, STORIES } from './common.js';

export async function decodeProfile(pref: DevicePref, path = STORIES, tokens = 64) {
  process.env.GRAFT_PROFILE = '1';
  const model = await loadModel(path);
  const device = await resolveDevice(pref);
  const prompt = [1, 20, 30, 40];
  for (const fused of [true, false]) {
    const run = () => generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [] }], maxTokens: tokens, sampling: { temperature: 0 }, stopAtEos: false, fused });
    await run();
    const t0 = performance.now();
    const [r] = await run();
    console.log(`fused=${fused}: ${((performance.now() - t0) / tokens).toFixed(2)} ms/token wall, ${r.tokensPerSecond.toFixed(1)} tok/s decode`);
  }
}

if (process.argv[1]?.endsWith('decode-profile.ts')) decodeProfile(arg('device', 'cpu') as DevicePref).catch((e) => {
  console.error(e);
  process.exit(1);
});
