/**
 * How several adapters combine at inference, declared once: `graft generate` / `graft compare` build their
 * flags from it (and the Chat screen's composition will). The arithmetic lives in adapters/stack.ts,
 * adapters/blend-methods.ts and adapters/adapter-drop.ts; their refusals name these fields.
 */
import type { OptionsOf, Schema } from './schema.js';

const GROUP = 'Composition';

export const COMPOSE_OPTIONS = {
  compose: {
    kind: 'enum',
    choices: ['stack', 'merge'],
    default: 'stack',
    label: 'Several adapters',
    group: GROUP,
    help: 'how several DoRA/IA³/bottleneck/prefix adapters on one row combine: stack (in sequence, as AdapterHub\'s Stack) or merge (weighted by each ADAPTER:WEIGHT; IA³ exact, DoRA by an SVD fit of --merge-rank)',
    choiceLabels: { stack: 'Stack (one after another)', merge: 'Weighted merge' },
  },
  mergeRank: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    when: { compose: 'merge' },
    label: 'Merge rank',
    group: GROUP,
    help: 'a DoRA merge: the rank of the SVD fit (its reconstruction error is printed); DoRA has no exact merge',
  },
  adapterDrop: {
    kind: 'int',
    default: 0,
    min: 0,
    label: 'AdapterDrop layers',
    group: GROUP,
    help: 'AdapterDrop: skip the non-LoRA adapters in the lowest N layers (faster decoding, a little less adaptation)',
  },
} as const satisfies Schema;
export type ComposeOptions = OptionsOf<typeof COMPOSE_OPTIONS>;
