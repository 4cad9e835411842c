/** QLoRA: 4-bit frozen bases (NF4 with double quantization, int4 in MatMulNBits' layout). */
export * from './cache.js';
export * from './int4.js';
export * from './nf4.js';
export {
  QuantWeights,
  QUANTIZED_LINEAR,
  quantWeightsFactory,
  roundedToF16,
  storeFootprint,
  type QuantScheme,
  type QuantStore,
  type QuantTensor,
} from './quant-weights.js';
