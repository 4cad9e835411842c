/**
 * What the decode captures hold (session 23): host RSS after a 4-row greedy generation of 8 tokens, then after one of 70
 * (chains up to GRAFT_GREEDY_CHAIN: 8, 16, then 32 steps). On lavapipe the GPU buffers live in host memory, so the
 * growth between the two is what the captures made by the longer chains hold (each capture keeps its own
 * intermediates). Usage: GRAFT_GREEDY_CHAIN=32 npx tsx bench/capture-memory.ts [NAME (gpu-explore shape, cuts allowed)]
 */
import { shapeOf } from './gpu-explore.js';
import { generate } from '../src-main/engine/infer/generate.js';
import { loadModel } from '../src-main/engine/model.js';
import { writeRandomModel } from '../src-main/engine/models/random-model.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
const name = process.argv[2] ?? 'qwen2.5-0.5b~l2~v32768';
const m = await loadModel(await writeRandomModel(`/tmp/capmem-${name}`, shapeOf(name), { seed: 1 }));
const device = await resolveDevice('gpu');
const rss = () => +(process.memoryUsage().rss / 2 ** 20).toFixed(0);
const r0 = rss();
const prompt = [5, 9, 13, 17];
const variants = Array.from({ length: 4 }, () => ({ adapters: [] }));
const t = performance.now();
await generate({ model: m, device, tokenizer: null, prompt, variants, maxTokens: 8, sampling: { temperature: 0 }, stopAtEos: false });
const r1 = rss();
await generate({ model: m, device, tokenizer: null, prompt, variants, maxTokens: 70, sampling: { temperature: 0 }, stopAtEos: false });
const r2 = rss();
console.log(JSON.stringify({ name, chain: process.env.GRAFT_GREEDY_CHAIN ?? 'default', rss_mb: { start: r0, after_8_tokens: r1, after_70_tokens: r2 }, s: +((performance.now() - t) / 1000).toFixed(1) }));
process.exit(0);
