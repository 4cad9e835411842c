/**
 * Pause and resume for a running training loop. The loop checks between optimizer steps, so a pause takes
 * effect after the current step and costs nothing while running. Cancel is an AbortSignal, separately.
 */
export class TrainControl {
  private paused = false;
  private wake: (() => void) | null = null;

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
    this.wake = null;
  }

  /** Resolves at once when not paused; otherwise when resumed or when `signal` aborts. */
  async waitWhilePaused(signal?: AbortSignal): Promise<void> {
    while (this.paused && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
