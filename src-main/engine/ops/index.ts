/** Importing this module registers every op family's gradient rule (the quantized linears' included). */
export * from './consts.js';
export * from './elementwise.js';
export * from './gather.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './shape.js';
export * from './softmax.js';
export { BACKWARD_CHUNK, int4DequantGraph, int8DequantGraph, linearOfRecomputed, matMulNBits, recomputable, type Int4Values } from './quant-linear.js';
export { gradRule, registeredGradOps } from './registry.js';
