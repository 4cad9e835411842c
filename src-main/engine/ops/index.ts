/** Importing this module registers every op family's gradient rule. */
export * from './consts.js';
export * from './elementwise.js';
export * from './gather.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './shape.js';
export * from './softmax.js';
export { gradRule, registeredGradOps } from './registry.js';
