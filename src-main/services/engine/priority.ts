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

/** Holds every run between steps until the returned release is called; `held` says whether any was running. */
export function holdTraining(): { held: boolean; release: () => void } {
  const releases = [...running].map((c) => c.hold());
  return { held: releases.length > 0, release: () => releases.forEach((r) => r()) };
}
