import type { TokenizedExample } from '../data/tokenize-example.js';
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { TokenBatch } from './types.js';

/**
 * Lays examples out as a fixed [batch, seqLen] micro-batch (the step graph has static shapes): padding
 * with `padId` and label -100, rows without an example entirely -100. Labels are the ids where the mask is 1.
 */
export function makeBatch(examples: TokenizedExample[], batch: number, seqLen: number, padId: number): TokenBatch {
  const inputIds = new Int32Array(batch * seqLen).fill(padId);
  const labels = new Int32Array(batch * seqLen).fill(-100);
  examples.forEach((ex, r) => {
    const n = Math.min(seqLen, ex.ids.length);
    for (let t = 0; t < n; t++) {
      inputIds[r * seqLen + t] = ex.ids[t];
      if (ex.mask[t]) labels[r * seqLen + t] = ex.ids[t];
    }
  });
  return { inputIds, labels, batch, seqLen };
}

/** Where the run is in its data: which epoch's shuffled order, and how far into it. */
export interface DataPosition {
  epoch: number;
  offset: number;
}

/**
 * An endless stream of training examples: each epoch is a fresh shuffle seeded by (seed, epoch), so the order
 * depends only on the position and a resumed run sees exactly the examples the interrupted one would have.
 */
export class ExampleStream {
  private order: number[] = [];
  private orderEpoch = -1;

  constructor(
    private readonly examples: TokenizedExample[],
    private readonly seed: number,
    public pos: DataPosition = { epoch: 0, offset: 0 },
  ) {}

  /** The next `n` examples, crossing into the next epoch when this one runs out. */
  take(n: number): TokenizedExample[] {
    const out: TokenizedExample[] = [];
    while (out.length < n) {
      if (this.pos.offset >= this.examples.length) this.pos = { epoch: this.pos.epoch + 1, offset: 0 };
      if (this.orderEpoch !== this.pos.epoch) {
        this.order = new SeededRng(deriveSeed(this.seed, this.pos.epoch)).shuffle(this.examples.map((_, i) => i));
        this.orderEpoch = this.pos.epoch;
      }
      out.push(this.examples[this.order[this.pos.offset]]);
      this.pos = { epoch: this.pos.epoch, offset: this.pos.offset + 1 };
    }
    return out;
  }

  /** Fractional epochs consumed, for progress display. */
  get epochProgress(): number {
    return this.pos.epoch + this.pos.offset / Math.max(1, this.examples.length);
  }
}
