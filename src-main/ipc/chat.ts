/**
 * The Chat screen's runtime pieces of the contract: its limits, and the sampling options from the one schema
 * `graft generate` / `chat` / `compare` build their flags from (engine/options/generate.ts).
 */
export { CHAT_SAMPLING, parseSampling, SAMPLING_OPTIONS, type SamplingOptions } from '../engine/options/generate';

/** Columns of a compare view: variants decoded together in one batch. */
export const MAX_COLUMNS = 4;
