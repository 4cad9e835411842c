/**
 * A tiny seeded generator (mulberry32) whose whole state is one uint32, so a checkpoint can store it and a
 * resumed run draws exactly the same numbers. Statistical quality is ample for shuffles and splits.
 */
export class SeededRng {
  private s: number;

  constructor(seed: number) {
    this.s = mix(seed >>> 0);
  }

  static fromState(state: number): SeededRng {
    const r = new SeededRng(0);
    r.s = state >>> 0;
    return r;
  }

  get state(): number {
    return this.s;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** Derives an independent seed for a sub-stream (an epoch, the split) from the run's seed. */
export function deriveSeed(seed: number, stream: number): number {
  return mix((seed >>> 0) ^ Math.imul(stream + 1, 0x9e3779b9));
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
