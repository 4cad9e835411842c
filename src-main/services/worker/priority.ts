/**
 * Chat before training on the engine thread: the controls of the training runs going on, so that a chat
 * reply can hold them between their steps while it decodes (see TrainControl.hold).
 */
import type { TrainControl } from '../../engine/train/control.js';

const running = new Set<TrainControl>();

/** A run registers its control while it goes; the returned function unregisters it. */
export function registerTrainingRun(control: TrainControl): () => void {
  running.add(control);
  return () => running.delete(control);
}

/**
 * Holds every run between steps until the returned release is called, and resolves once each has finished the
 * step it was in (so the reply then has the machine to itself); `held` says whether any run was going.
 */
export async function holdTraining(signal?: AbortSignal): Promise<{ held: boolean; release: () => void }> {
  const controls = [...running];
  const releases = controls.map((c) => c.hold());
  const release = () => releases.forEach((r) => r());
  try {
    await Promise.all(controls.map((c) => c.whenIdle(signal)));
  } catch (err) {
    release();
    throw err;
  }
  return { held: controls.length > 0, release };
}
