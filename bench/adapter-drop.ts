/**
 * AdapterDrop's decode speed-up: greedy decode with a Houlsby adapter (reduction 16, after attention and
 * after the MLP in every layer) with its lowest k layers dropped, for k = 0, a third, two thirds and all of
 * the layers (all dropped = the plain decode graph of the base, the floor). One stream, fp32, best of 3
 * interleaved rounds after a warm-up, on a random model of SmolLM2-135M's shapes (30 layers) and on stories260K.
 *   npx tsx bench/adapter-drop.ts [--device cpu|gpu] [--tokens 48]
 */
import { dropLowestLayers } from '../src-main/engine/adapters/adapter-drop.js';
import { bottleneckMethod } from '../src-main/engine/adapters/bottleneck.js';
import { generate } from '../src-main/engine/infer/generate.js';
import { loadModel, type LoadedModel } from '../src-main/engine/model.js';
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { arg, benchModel, commit, machine, STORIES, writeResult } from './common.js';

/** A decode run with the lowest `drop` layers' adapter skipped; returns its tokens per second. */
async function runner(model: LoadedModel, drop: number, pref: DevicePref, tokens: number) {
  const device = await resolveDevice(pref);
  const houlsby = bottleneckMethod(model.spec, { kind: 'houlsby', name: 'graft', reductionFactor: 16, nonLinearity: 'silu', scaling: 1 });
  // Up-projections moved off zero so that the adapter computes something (the speed does not depend on it).
  const tensors = new Map([...houlsby.init(model.source, 1)].map(([n, v]) => [n, n.includes('adapter_up') ? v.map((_, i) => 0.01 * Math.sin(i)) : v]));
  const method = { adapter: dropLowestLayers(houlsby, drop), tensors };
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  return async () => (await generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [], method }], maxTokens: tokens, sampling: { temperature: 0 }, stopAtEos: false }))[0].tokensPerSecond;
}

async function main() {
  const pref = arg('device', 'cpu') as DevicePref;
  const tokens = Number(arg('tokens', '48'));
  const device = await resolveDevice(pref);
  const results: object[] = [];
  for (const [name, file] of [
    ['smollm2-135m-shape (random init)', await benchModel('smollm2-135m', SMOLLM2_135M_SHAPES)],
    ['stories260K', STORIES],
  ] as const) {
    const model = await loadModel(file);
    const L = model.spec.layers;
    const ks = [...new Set([0, Math.round(L / 3), Math.round((2 * L) / 3), L])];
    // Every setting warmed up first (session creation is not decode speed), then measured in interleaved
    // rounds, best of each: on a shared machine, load drifts over minutes, and rounds spread it evenly.
    const runs = await Promise.all(ks.map((k) => runner(model, k, pref, tokens)));
    for (const run of runs) await run();
    const best = ks.map(() => 0);
    for (let round = 0; round < 3; round++) for (let i = 0; i < ks.length; i++) best[i] = Math.max(best[i], await runs[i]());
    const rows = ks.map((k, i) => ({ dropped_layers: k, tokens_per_s: +best[i].toFixed(1), speedup_vs_no_drop: +(best[i] / best[0]).toFixed(3) }));
    rows.forEach((r) => console.log(name, JSON.stringify(r)));
    results.push({ model: name, layers: L, prompt_tokens: 32, new_tokens: tokens, rows });
    model.source.close();
  }
  const result = {
    what: 'AdapterDrop: greedy decode, one stream, fp32, a Houlsby adapter (reduction 16) with its lowest k layers dropped; best of 3 interleaved rounds after a warm-up of each. k = all layers is the plain decode graph without adapter work. Methods decode on the plain (unfused) graph.',
    device: `${device.ep}: ${device.name}`,
    machine: machine(),
    date: new Date().toISOString(),
    commit: commit(),
    results,
  };
  console.log('wrote', writeResult(`adapter-drop-${device.kind}-${new Date().toISOString().slice(0, 10)}`, result));
}

if (process.argv[1]?.endsWith('adapter-drop.ts'))
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
