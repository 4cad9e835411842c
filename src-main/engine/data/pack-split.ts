import { deriveSeed, SeededRng } from './rng.js';
import type { TokenizedExample } from './tokenize-example.js';

/**
 * Greedily concatenates consecutive examples into sequences of at most `seqLen` tokens, so short examples do
 * not waste a window each. Examples attend across their boundaries (plain concatenation, as most trainers do).
 */
export function packExamples(examples: TokenizedExample[], seqLen: number): TokenizedExample[] {
  const out: TokenizedExample[] = [];
  let cur: TokenizedExample[] = [];
  let len = 0;
  const close = () => {
    if (!cur.length) return;
    const ids = new Int32Array(len);
    const mask = new Uint8Array(len);
    let o = 0;
    for (const e of cur) {
      ids.set(e.ids, o);
      mask.set(e.mask, o);
      o += e.ids.length;
    }
    out.push({ ids, mask, line: cur[0].line });
    cur = [];
    len = 0;
  };
  for (const e of examples) {
    if (len + e.ids.length > seqLen) close();
    cur.push(e);
    len += e.ids.length;
  }
  close();
  return out;
}

/**
 * Seeded train/validation split: the same seed and data give the same split on every machine.
 * With a fraction > 0 and at least two examples, validation gets at least one and train keeps at least one.
 */
export function splitTrainVal<T>(items: T[], valFraction: number, seed: number): { train: T[]; val: T[] } {
  if (!(valFraction > 0) || items.length < 2) return { train: items.slice(), val: [] };
  const order = new SeededRng(deriveSeed(seed, 0x5917)).shuffle(items.map((_, i) => i));
  const nVal = Math.min(items.length - 1, Math.max(1, Math.round(items.length * valFraction)));
  const valIdx = new Set(order.slice(0, nVal));
  const train: T[] = [];
  const val: T[] = [];
  items.forEach((x, i) => (valIdx.has(i) ? val : train).push(x));
  return { train, val };
}
