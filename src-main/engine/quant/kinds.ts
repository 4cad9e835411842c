/**
 * QLoRA's choices as runtime lists (options schemas, CLI choices, GUI selects) with their types derived.
 * No imports: the renderer bundles this file through the options schemas.
 */
/**
 * int4s: int4 with symmetric blocks (every zero point 8), what ONNX Runtime's fused 4-bit decode op takes
 * (infer/fused/nbits-blocks.ts): a faster 4-bit chat on a GPU, at slightly coarser steps than int4's own range.
 */
export const QUANT_SCHEMES = ['nf4', 'int4', 'int4s'] as const;
export type QuantScheme = (typeof QUANT_SCHEMES)[number];
/** The tensor format a scheme's projections are stored in: int4s is int4 with particular ranges. */
export const tensorSchemeOf = (s: QuantScheme): 'nf4' | 'int4' => (s === 'int4s' ? 'int4' : s);
/** How codes are chosen: round to nearest (the QLoRA paper's way) or GPTQ, calibrated on sampled text. */
export const QUANT_METHODS = ['rtn', 'gptq'] as const;
export type QuantMethod = (typeof QUANT_METHODS)[number];
/** How the embeddings and LM head are held: fp16 precision (default) or 8-bit blocks. */
export const EMBEDDING_PRECISIONS = ['fp16', 'int8'] as const;
export type EmbeddingPrecision = (typeof EMBEDDING_PRECISIONS)[number];
