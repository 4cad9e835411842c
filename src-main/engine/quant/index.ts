/** QLoRA: 4-bit frozen bases (NF4 with double quantization, int4 in MatMulNBits' layout). */
export * from './cache.js';
export { CALIBRATION_DEFAULTS, sampleCalibrationRows, type CalibrationOpts } from './calibration.js';
export { gptqInt4, gptqMatrix, gptqNf4, type GptqOpts } from './gptq.js';
export { quantizeModelGptq, type GptqProgress, type GptqSourceOpts } from './gptq-source.js';
export * from './int4.js';
export * from './int8.js';
export * from './nf4.js';
export {
  EMBEDDING_TABLES,
  QuantWeights,
  QUANTIZED_LINEAR,
  quantWeightsFactory,
  roundedToF16,
  storeFootprint,
  type EmbeddingPrecision,
  type QuantMethod,
  type QuantScheme,
  type QuantStore,
  type QuantTensor,
} from './quant-weights.js';
