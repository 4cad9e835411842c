/**
 * A fast path that, once it fails in this process, is not tried again (graph capture, the device top-k): the
 * reason is logged at the first failure, and callers take their plain path from then on.
 */
export class FallbackOnce {
  private failedAt: string | null = null;

  /** `what`: the sentence logged, e.g. "graph capture unavailable, decoding without it". */
  constructor(private readonly what: string) {}

  get failed(): boolean {
    return this.failedAt !== null;
  }

  /** Records the failure (logged the first time); null, for the caller to return. */
  fail(err: unknown): null {
    if (this.failedAt === null) {
      this.failedAt = (err as Error).message;
      console.error(`[graft] ${this.what}: ${this.failedAt}`);
    }
    return null;
  }
}
