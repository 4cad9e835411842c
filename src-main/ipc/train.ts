/**
 * The Train screen's part of the IPC contract: its channels and stream (merged into contract.ts), payload types,
 * and its requests checked at the IPC boundary by the same schema `graft train` parses its flags with
 * (engine/options/train.ts): a value the CLI refuses is refused here, with the same code, field and rule.
 * The renderer imports the schema through this file (labels, limits, defaults and presets of its form).
 */
import { GraftError, type GraftErrorData } from '../engine/errors';
import type { DeviceInfo } from '../engine/runtime/device';
import type { LoraTarget } from '../engine/adapters/lora-config';
import type { TrainEvent } from '../engine/train/events';
import type { MemoryEstimate } from '../engine/train/memory-estimate';
import type { MethodCount } from '../engine/train/method-preview';
import { ESTIMATE_OPTIONS, parseTrainOptions, TRAIN_OPTIONS, type EstimateOptions, type TrainOptions } from '../engine/options/train';
import { validateOptions } from '../engine/options/schema';

export { applicableOptions, applies, defaultsOf, rangeText, type Field, type Schema } from '../engine/options/schema';
export { alphaOf, TRAIN_OPTIONS, type TrainMethod, type TrainOptions } from '../engine/options/train';
export { presetValues, TRAIN_PRESETS, type PresetName } from '../engine/options/train-presets';
export type { LoraTarget, MemoryEstimate, MethodCount, TrainEvent };
export { METHODS } from '../engine/adapters/method-kinds';
export { METHOD_SETTINGS_GROUP } from '../engine/options/method-fields';
export { findField } from '../engine/options/index';
export { wordError } from '../engine/options/word-error';

/** What identifies a run on the Train screen besides its options: library ids and the adapter's name. */
export interface TrainTarget {
  modelId: string;
  datasetId: string;
  name: string;
}

/** A validated Train screen request: the run's target and every option of the schema. */
export type TrainSettings = TrainTarget & TrainOptions;
/** What the renderer sends: options left out take their defaults; one that does not apply is refused. */
export type TrainRequest = TrainTarget & Partial<TrainOptions>;

export type EstimateRequest = { modelId: string } & EstimateOptions;

function objectOf(req: unknown): Record<string, unknown> {
  if (!req || typeof req !== 'object' || Array.isArray(req)) throw new GraftError('BAD_INPUT', `the request must be an object, got ${JSON.stringify(req) ?? String(req)}`);
  return req as Record<string, unknown>;
}

function idOf(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !v.trim()) throw new GraftError('BAD_INPUT', 'is required', { field: key });
  return v;
}

/** Splits a Train request into its target and its options (the part trainAdapter takes whole). */
export function splitSettings(s: TrainSettings): { target: TrainTarget; options: TrainOptions } {
  const { modelId, datasetId, name, ...options } = s;
  return { target: { modelId, datasetId, name }, options };
}

export function parseTrainSettings(req: unknown): TrainSettings {
  const o = objectOf(req);
  const { modelId: _m, datasetId: _d, name: _n, ...options } = o;
  const parsed = parseTrainOptions(options);
  appMethod(parsed.method);
  return { modelId: idOf(o, 'modelId'), datasetId: idOf(o, 'datasetId'), name: idOf(o, 'name'), ...parsed };
}

/** The app trains the methods its library can hold (all but AdapterFusion); `graft train` takes the others. */
function appMethod(method: string): void {
  const offered: readonly string[] = TRAIN_OPTIONS.method.appChoices;
  if (!offered.includes(method)) throw new GraftError('BAD_INPUT', `must be one of ${offered.join(', ')} in the app (train ${method} with graft train), got "${method}"`, { field: 'method' });
}

export function parseEstimateRequest(req: unknown): EstimateRequest {
  const o = objectOf(req);
  const { modelId: _m, ...options } = o;
  const parsed = validateOptions(ESTIMATE_OPTIONS, options);
  appMethod(parsed.method);
  return { modelId: idOf(o, 'modelId'), ...parsed };
}

/** The states of a training job, with the type derived. */
export const TRAIN_JOB_STATES = ['preparing', 'running', 'paused', 'cancelled', 'importing', 'done', 'error'] as const;
export type TrainJobState = (typeof TRAIN_JOB_STATES)[number];
/** A job in these states holds the device: no second run starts, the app waits for it before quitting. */
export const ACTIVE_JOB_STATES: readonly TrainJobState[] = ['preparing', 'running', 'paused', 'importing'];
export const isActiveJob = (state: TrainJobState): boolean => ACTIVE_JOB_STATES.includes(state);

/** Every option key of a run (what a form highlights when an error names one). */
export const TRAIN_OPTION_KEYS = Object.keys(TRAIN_OPTIONS) as (keyof TrainOptions)[];

/** A job bundle written for accelerate + PEFT on another machine (`graft job export` from the Train screen). */
export interface JobExportResult {
  out: string;
  /** graft-job.json's id. */
  id: string;
  trainRows: number;
  valRows: number;
  totalSteps: number;
  /** What the cluster run will not reproduce of the local one. */
  notes: string[];
  warnings: string[];
}

export interface TrainJobStatus {
  id: string;
  state: TrainJobState;
  settings: TrainSettings;
  modelName: string;
  datasetName: string;
  startedAt: string;
  memory: { estimate: MemoryEstimate; available: number } | null;
  /** GPTQ's one-time preparation of the 4-bit base, while it runs. */
  quantize: { phase: 'calibration' | 'layers'; done: number; total: number } | null;
  warnings: string[];
  /** Library id of the imported adapter once done. */
  adapterId: string | null;
  device: string | null;
  error: GraftErrorData | null;
}

/** A job with its whole event history: what a screen that (re)attaches draws its charts from. */
export interface TrainJob extends TrainJobStatus {
  events: TrainEvent[];
}

export interface TrainUpdate {
  job: TrainJobStatus;
  event?: TrainEvent;
}

export interface MemoryCheck {
  estimate: MemoryEstimate;
  /** Each method's trainable parameter count on the model with the form's settings (the method picker's numbers). */
  methods: MethodCount[];
  /** Free memory of the chosen device's host, in bytes. */
  available: number;
  device: DeviceInfo;
}

/** A finished (or failed, or cancelled) run in the history: the row of the list of past runs. */
export interface PastRun {
  id: string;
  name: string;
  modelName: string;
  datasetName: string;
  method: string;
  state: TrainJobState;
  startedAt: string;
  endedAt: string;
  steps: number;
  finalLoss: number | null;
  evalLoss: number | null;
  /** Library id of the adapter it wrote, when it finished. */
  adapterId: string | null;
  error: string | null;
}

export interface TrainChannels {
  'train.estimate': { req: { modelId: string } & Partial<Omit<EstimateRequest, 'modelId'>>; res: MemoryCheck };
  'train.start': { req: TrainRequest; res: TrainJob };
  'train.current': { req: void; res: TrainJob | null };
  'train.pause': { req: void; res: void };
  'train.resume': { req: void; res: void };
  'train.cancel': { req: void; res: void };
  /** Continues the last cancelled (or failed) run from its latest checkpoint, in the same job. */
  'train.continue': { req: void; res: TrainJob };
  /** Writes a job bundle for the same run to `out` (a new folder) instead of training here. */
  'train.exportJob': { req: { settings: TrainRequest; out: string; includeModel?: boolean }; res: JobExportResult };
  /** The runs that have ended, newest first; each keeps its page (`train.run`). */
  'train.history': { req: void; res: PastRun[] };
  'train.run': { req: { id: string }; res: TrainJob };
  'train.forget': { req: { id: string }; res: void };
}

export interface TrainStreams {
  'train.update': TrainUpdate;
  /** The list of past runs, each time a run is added to it or removed. */
  'train.history': PastRun[];
}
