/**
 * What Graft records about an adapter beyond PEFT's own files (graft.json): its base, method and shape, data,
 * hyperparameters, metrics and loss curve. Declared here, below everything that passes it around: the store
 * reads and writes it (store/adapter-meta.ts checks a parsed file), the IPC hands it to the Adapters screen.
 */
export interface BaseModelRef {
  /** A hub id, a local path, or a name the user gave. */
  id: string;
  arch: string;
  /** Content hash of the base weights, when known: tells two bases with one name apart. */
  hash?: string;
}

export interface LossPoint {
  step: number;
  loss: number;
}

/** Where an adapter trained from a job bundle (`graft job export`) ran: written by the bundle's train.py. */
export interface RemoteTraining {
  host: string;
  /** accelerate's distributed type: FSDP, DEEPSPEED, MULTI_GPU, NO. */
  distributed: string;
  processes: number;
  devices: string[];
  precision: string;
  /** How it was started: accelerate-fsdp, accelerate-deepspeed, python. */
  launcher: string;
  /** graft-job.json's id. */
  job: string;
  software: Record<string, string>;
  durationSec?: number;
}

export interface AdapterMeta {
  format: number;
  id: string;
  name: string;
  tags: string[];
  notes: string;
  base: BaseModelRef | null;
  method: string;
  r: number;
  alpha: number;
  targets: string[];
  rslora: boolean;
  dataset: { name: string; hash?: string } | null;
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, number>;
  lossCurve: LossPoint[];
  /** ISO time. */
  created: string;
  /** Where it came from: an import path, a training run, a blend. */
  source: string;
  /** Set when it was trained from a job bundle on another machine. */
  remote?: RemoteTraining;
}
