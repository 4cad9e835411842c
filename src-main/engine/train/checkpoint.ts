import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { fsyncDirSync, noSpaceAt, tempName, writeFileAtomicSync } from '../io/atomic.js';
import { encodeSafetensors, openSafetensors, toF32, type TensorToWrite } from '../io/safetensors.js';
import type { DataPosition } from './batches.js';
import type { TensorMap, TrainerState } from './types.js';

/** One optimizer step's record, kept in checkpoints so a resumed run reports the whole curve. */
export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  evalLoss?: number;
}

export interface CheckpointMeta {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  data: DataPosition;
  /** The data order is a pure function of (seed, epoch); both are stored so resume needs nothing else. */
  rng: { seed: number; epoch: number };
  tokensSeen: number;
  elapsedMs: number;
  history: StepRecord[];
  /** Everything that must be the same for a resume to continue exactly (data hash, shapes, hyper-parameters). */
  run: Record<string, unknown>;
  /** The step runner's own counter (it seeds LoRA dropout masks), from TrainerState.counter. */
  runnerCounter?: number;
}

const STATE_FILE = 'state.safetensors';
const META_FILE = 'trainer.json';
const LATEST = 'latest.json';
const PARTS = ['lora', 'm', 'v'] as const;

/**
 * Writes `<root>/step-NNNNNN/` atomically: files go into a temp folder (each fsync'd), the folder is renamed
 * into place, then `latest.json` is replaced atomically. A crash leaves the previous checkpoint usable.
 * Keeps the newest `keep` checkpoints.
 */
export function saveCheckpoint(root: string, state: TrainerState, meta: CheckpointMeta, keep = 2): string {
  mkdirSync(root, { recursive: true });
  const name = `step-${String(meta.step).padStart(6, '0')}`;
  const final = join(root, name);
  const tmp = tempName(final);
  mkdirSync(tmp);
  try {
    const tensors = new Map<string, TensorToWrite>();
    for (const part of PARTS) for (const [k, t] of state[part]) tensors.set(`${part}/${k}`, { dtype: 'F32', shape: t.shape, data: t.data });
    writeFileAtomicSync(join(tmp, STATE_FILE), encodeSafetensors(tensors, { format: 'graft-checkpoint' }));
    writeFileAtomicSync(join(tmp, META_FILE), [Buffer.from(JSON.stringify({ ...meta, runnerCounter: state.counter }, null, 1))]);
    fsyncDirSync(tmp);
    if (existsSync(final)) rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw noSpaceAt(err, final);
  }
  fsyncDirSync(root);
  writeFileAtomicSync(join(root, LATEST), [Buffer.from(JSON.stringify({ checkpoint: name, step: meta.step }))]);
  const all = readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep)))
    if (old !== name) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/** Accepts a checkpoint folder, a checkpoints root (follows latest.json), or a run's output folder. */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, META_FILE))) return path;
  for (const root of [path, join(path, 'checkpoints')]) {
    const latest = join(root, LATEST);
    if (existsSync(latest)) {
      const { checkpoint } = JSON.parse(readFileSync(latest, 'utf8')) as { checkpoint: string };
      const dir = join(root, checkpoint);
      if (existsSync(join(dir, META_FILE))) return dir;
      throw new GraftError('NOT_FOUND', `${latest} points at ${checkpoint}, which is missing`, { file: latest });
    }
  }
  throw new GraftError('NOT_FOUND', `${path}: no checkpoint here (expected ${META_FILE}, ${LATEST} or checkpoints/${LATEST})`, {
    file: path,
  });
}

export function loadCheckpoint(path: string): { dir: string; state: TrainerState; meta: CheckpointMeta } {
  const dir = resolveCheckpoint(path);
  const metaFile = join(dir, META_FILE);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as CheckpointMeta;
  } catch (err) {
    throw new GraftError('BAD_FILE', `${metaFile}: ${(err as Error).message}`, { file: metaFile, cause: err });
  }
  if (meta.version !== 1)
    throw new GraftError('UNSUPPORTED', `${metaFile}: checkpoint version ${meta.version} is not supported`, { file: metaFile });
  const file = join(dir, STATE_FILE);
  const st = openSafetensors(file);
  const state: TrainerState = {
    lora: new Map(),
    m: new Map(),
    v: new Map(),
    ...(meta.runnerCounter !== undefined ? { counter: meta.runnerCounter } : {}),
  };
  try {
    for (const full of st.names()) {
      const slash = full.indexOf('/');
      const part = full.slice(0, slash) as (typeof PARTS)[number];
      if (!PARTS.includes(part)) throw new GraftError('BAD_FILE', `${file}: unexpected tensor ${full}`, { file, where: full });
      const info = st.info(full);
      (state[part] as TensorMap).set(full.slice(slash + 1), { shape: info.shape, data: toF32(st.readRaw(full), info.dtype, file, full) });
    }
  } finally {
    st.close();
  }
  return { dir, state, meta };
}

/** Names the first setting that differs between the checkpoint's run and this one. */
export function checkResumable(saved: Record<string, unknown>, now: Record<string, unknown>, where: string): void {
  for (const key of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) {
      throw new GraftError(
        'INCOMPATIBLE',
        `cannot resume from ${where}: ${key} was ${a ?? 'unset'} and is now ${b ?? 'unset'}; resume with the same settings`,
        { file: where, where: key },
      );
    }
  }
}
