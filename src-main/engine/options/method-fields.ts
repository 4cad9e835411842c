/**
 * The training options of the adapter methods other than LoRA (issue 16), each with `when: { method }`: the
 * form shows them only for their methods and the validator refuses them for another. Spread into
 * TRAIN_OPTIONS (train.ts) where they stand in its order.
 */
import { MODULE_TARGETS } from '../adapters/lora-config.js';
import { BOTTLENECK_KINDS, DROPPABLE_METHODS, IA3_DEFAULT_TARGETS, NON_LINEARITIES } from '../adapters/method-kinds.js';
import type { Schema } from './schema.js';

/** The group of the methods' own settings: the Train form draws it beside the method picker. */
export const METHOD_SETTINGS_GROUP = 'Method settings';
const OTHER = METHOD_SETTINGS_GROUP;
export const TARGET_LABELS = { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj', gate: 'gate_proj', up: 'up_proj', down: 'down_proj', qkv: 'qkv_proj', gate_up: 'gate_up_proj' };

export const METHOD_FIELDS = {
  ia3Targets: {
    kind: 'list',
    choices: MODULE_TARGETS,
    default: IA3_DEFAULT_TARGETS,
    when: { method: 'ia3' },
    label: 'IA³ scales',
    group: OTHER,
    help: 'IA³: modules whose output (k, v, q, o, gate, up) or input (down) is scaled',
    choiceLabels: TARGET_LABELS,
  },
  virtualTokens: { kind: 'int', default: 16, min: 1, max: 512, when: { method: 'prefix' }, label: 'Virtual tokens', group: OTHER, help: 'prefix tuning: virtual tokens per layer' },
  reductionFactor: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    when: { method: BOTTLENECK_KINDS },
    label: 'Reduction factor',
    group: OTHER,
    help: 'bottleneck adapters: hidden size / bottleneck width (16 houlsby/pfeiffer, 2 parallel when not given)',
  },
  bottleneckSize: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    when: { method: BOTTLENECK_KINDS },
    label: 'Bottleneck width',
    group: OTHER,
    help: 'bottleneck adapters: the width itself (instead of the reduction factor)',
  },
  nonLinearity: {
    kind: 'enum',
    choices: ['default', ...NON_LINEARITIES],
    default: 'default',
    when: { method: BOTTLENECK_KINDS },
    label: 'Non-linearity',
    group: OTHER,
    help: "bottleneck adapters: the method's default (silu houlsby, relu pfeiffer/parallel), relu or silu",
    choiceLabels: { default: "the method's default", relu: 'ReLU', silu: 'SiLU' },
  },
  fuseAdapters: {
    kind: 'text',
    default: '',
    when: { method: 'fusion' },
    label: 'Adapters to fuse',
    group: OTHER,
    help: 'AdapterFusion: trained Houlsby or Pfeiffer adapter folders, comma-separated (they stay frozen; only the fusion trains)',
  },
  adapterDrop: {
    kind: 'int',
    default: 0,
    min: 0,
    when: { method: DROPPABLE_METHODS },
    label: 'AdapterDrop layers',
    group: OTHER,
    help: 'AdapterDrop: no adapter in the lowest N layers (they keep the base; faster steps and decoding)',
  },
  adapterScaling: {
    kind: 'number',
    default: null,
    nullable: true,
    min: 0,
    when: { method: 'parallel' },
    label: 'Output scale',
    group: OTHER,
    help: 'parallel adapter: output scale (4 when not given)',
  },
} as const satisfies Schema;
