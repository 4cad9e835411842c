/**
 * Renderer state of the Train screen. The training job lives in the engine worker, and this state only mirrors it
 * (train.current on load, then 'train.update'), so a reloaded page or a reopened window reattaches to a run in
 * progress.
 */
import { isActiveJob, type TrainJob } from '../../src-main/ipc/train';
import { api } from './api';

class TrainingState {
  job = $state<TrainJob | null>(null);
  private started = false;

  /** Subscribes first, then asks for the current job, so no event falls between the two. */
  async attach(): Promise<void> {
    if (this.started) return;
    this.started = true;
    api.subscribe('train.update', (u) => {
      const prev = this.job && this.job.id === u.job.id ? this.job.events : [];
      this.job = { ...u.job, events: u.event ? [...prev, u.event] : prev };
    });
    // A run lives in the engine worker: if that dies, the run is over, and the screen must say so.
    api.subscribe('engine.status', (st) => {
      const job = this.job;
      if ((st.state === 'crashed' || st.state === 'stopped') && job && isActiveJob(job.state)) {
        this.job = { ...job, state: 'error', error: { code: 'INTERNAL', message: `The engine stopped during the run (${st.detail ?? st.state}); checkpoints saved so far are kept.` } };
      }
    });
    const r = await api.invoke('train.current');
    if (r.ok && r.value && (!this.job || this.job.id !== r.value.id || r.value.events.length >= this.job.events.length)) this.job = r.value;
  }
}

export const training = new TrainingState();
