import type { GptqProgress } from '../../engine/quant/index.js';

/** GPTQ's one-time progress on stderr (stdout carries generated text or JSON events). */
export function gptqProgressLine(p: GptqProgress): void {
  console.error(`graft: GPTQ ${p.phase === 'calibration' ? 'calibration tokens' : 'layers'} ${p.done}/${p.total}`);
}
