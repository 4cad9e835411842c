/**
 * Pause and resume for a running training loop, and holds. The loop checks between optimizer steps, so a
 * pause or a hold takes effect after the current step and costs nothing while running. Cancel is an
 * AbortSignal, separately.
 *
 * A pause is the user's (the loop reports it); a hold is another job's priority: chat replies hold a run on
 * the same engine so their decode steps get the CPU/GPU between its steps instead of competing with them
 * (on 2 CPU cores, decoding beside a train step ran at ~1 token/s instead of ~650). Holds nest; each one
 * is released by calling the function hold() returned.
 */
export class TrainControl {
  private paused = false;
  private holds = 0;
  private working = false;
  private waiters: (() => void)[] = [];

  get isPaused(): boolean {
    return this.paused;
  }

  get isHeld(): boolean {
    return this.holds > 0;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wakeAll();
  }

  /** Holds the loop between steps until the returned release is called (once; later calls do nothing). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.wakeAll();
    };
  }

  /** The loop says when it is inside a step (session runs, evaluation, checkpoint) and when between steps. */
  setWorking(working: boolean): void {
    this.working = working;
    if (!working) this.wakeAll();
  }

  /**
   * Resolves once the loop is between steps. With a hold taken first, it then stays there: a chat reply waits
   * out the step under way rather than decode beside it at a fraction of its speed.
   */
  whenIdle(signal?: AbortSignal): Promise<void> {
    return this.waitWhile(() => this.working, signal);
  }

  /** Resolves at once when not paused; otherwise when resumed or when `signal` aborts. */
  waitWhilePaused(signal?: AbortSignal): Promise<void> {
    return this.waitWhile(() => this.paused, signal);
  }

  /** Resolves at once when not held; otherwise when every hold is released or when `signal` aborts. */
  waitWhileHeld(signal?: AbortSignal): Promise<void> {
    return this.waitWhile(() => this.holds > 0, signal);
  }

  private async waitWhile(cond: () => boolean, signal?: AbortSignal): Promise<void> {
    while (cond() && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.waiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
