/**
 * Runs a job bundle on another machine over SSH with the user's own `ssh` binary, keys, agent and
 * ~/.ssh/config (Graft stores no credentials): copy the bundle, start launch.sh in its own process group,
 * stream its JSON-lines progress back as the events of a local run, cancel by signalling that group, and
 * fetch output/adapter. Copying goes through `tar` on both ends, which every Linux and macOS host has.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { GraftError } from '../errors.js';
import type { TrainEvent } from '../train/events.js';

export interface SshTarget {
  /** user@host, or a Host alias from ~/.ssh/config. */
  host: string;
  port?: number;
  /** A private key file; by default ssh uses the agent and its own configuration. */
  identity?: string;
  /** More `ssh` options, e.g. ['-o', 'ProxyJump=gateway']. */
  options?: string[];
  /** The ssh binary (default: `ssh` on PATH). */
  ssh?: string;
}

/** train.py's JSON lines: TrainEvent's start/step/eval/done (start carries `remote`), and `error`. */
export type RemoteEvent = TrainEvent | ({ type: string } & Record<string, unknown>);

export interface RemoteRunOptions {
  /** The local bundle folder (graft job export's --out). */
  bundle: string;
  /** Where the bundle goes on the remote machine (created; relative paths are under the remote home). */
  remoteDir: string;
  /** Arguments after `bash launch.sh` (they reach train.py). */
  launchArgs?: string[];
  /** Environment for launch.sh, e.g. { GRAFT_NPROC: '4', GRAFT_BACKEND: 'deepspeed' }. */
  env?: Record<string, string>;
  /** Where output/adapter is copied back to when the run finishes (skipped when not given). */
  fetchTo?: string;
  onEvent?: (e: RemoteEvent) => void;
  /** Every other line of the remote output (accelerate's and Python's logs), stdout and stderr. */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RemoteRunResult {
  cancelled: boolean;
  exitCode: number | null;
  /** The fetched adapter folder, when fetchTo was given and the run finished. */
  adapter: string | null;
}

/** POSIX single-quoting for the remote shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sshArgs(t: SshTarget, command: string): string[] {
  return [
    ...(t.port ? ['-p', String(t.port)] : []),
    ...(t.identity ? ['-i', t.identity] : []),
    '-o',
    'BatchMode=yes', // never prompt: a GUI or script has no terminal to type a password into
    ...(t.options ?? []),
    t.host,
    command,
  ];
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    p.once('close', (code) => resolve(code));
  });
}

/** Runs one remote command; rejects with its stderr when it fails. */
async function sshCommand(t: SshTarget, command: string, stdin?: NodeJS.ReadableStream, stdout?: NodeJS.WritableStream): Promise<void> {
  const p = spawn(t.ssh ?? 'ssh', sshArgs(t, command), { stdio: [stdin ? 'pipe' : 'ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (stdin) stdin.pipe(p.stdin!);
  if (stdout) p.stdout!.pipe(stdout);
  const code = await exited(p).catch((e: Error) => {
    throw new GraftError('NOT_FOUND', `cannot run ${t.ssh ?? 'ssh'}: ${e.message}`, { where: 'ssh' });
  });
  if (code !== 0) throw new GraftError('IO', `ssh ${t.host}: ${err.trim() || `exit ${code}`}`, { where: t.host });
}

/** `tar -C dir -cf - .` piped into a remote command (or a remote tar into a local `tar -x`). */
async function tarPipe(t: SshTarget, local: string, remoteCommand: string, direction: 'up' | 'down'): Promise<void> {
  const tar = spawn('tar', direction === 'up' ? ['-C', local, '-cf', '-', '.'] : ['-C', local, '-xf', '-'], {
    stdio: direction === 'up' ? ['ignore', 'pipe', 'pipe'] : ['pipe', 'ignore', 'pipe'],
  });
  let tarErr = '';
  tar.stderr!.on('data', (d: Buffer) => (tarErr += d.toString()));
  const tarDone = exited(tar);
  await (direction === 'up' ? sshCommand(t, remoteCommand, tar.stdout!) : sshCommand(t, remoteCommand, undefined, tar.stdin!));
  if (direction === 'down') tar.stdin!.end();
  const code = await tarDone;
  if (code !== 0) throw new GraftError('IO', `tar (${local}): ${tarErr.trim() || `exit ${code}`}`, { file: local });
}

export async function runBundleOverSsh(t: SshTarget, o: RemoteRunOptions): Promise<RemoteRunResult> {
  const dir = shq(o.remoteDir);
  await tarPipe(t, o.bundle, `mkdir -p ${dir} && tar -C ${dir} -xf -`, 'up');

  // launch.sh in a session of its own, so that cancelling reaches accelerate and every training process.
  const env = Object.entries(o.env ?? {})
    .map(([k, v]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/i.test(k)) throw new GraftError('BAD_INPUT', `not an environment variable name: ${k}`, { where: 'env' });
      return `${k}=${shq(v)}`;
    })
    .join(' ');
  const args = (o.launchArgs ?? []).map(shq).join(' ');
  const start = `cd ${dir} && rm -f .graft-run.pid && { ${env ? `env ${env} ` : ''}setsid bash launch.sh ${args} < /dev/null 2>&1 & echo $! > .graft-run.pid; wait $!; }`;
  const run = spawn(t.ssh ?? 'ssh', sshArgs(t, start), { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = exited(run);
  const lines = (s: NodeJS.ReadableStream) =>
    createInterface({ input: s }).on('line', (line) => {
      const ev = line.startsWith('{') ? tryJson(line) : null;
      if (ev && typeof ev.type === 'string') o.onEvent?.(ev as RemoteEvent);
      else o.onLog?.(line);
    });
  lines(run.stdout!);
  lines(run.stderr!);

  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    // A second connection signals the process group; the first then sees its remote command end.
    void sshCommand(t, `cd ${dir} && kill -TERM -- -$(cat .graft-run.pid)`).catch((e: Error) => o.onLog?.(`cancel: ${e.message}`));
  };
  if (o.signal?.aborted) cancel();
  else o.signal?.addEventListener('abort', cancel, { once: true });
  let exitCode: number | null;
  try {
    exitCode = await done;
  } finally {
    o.signal?.removeEventListener('abort', cancel);
  }
  if (cancelled || exitCode !== 0 || !o.fetchTo) return { cancelled, exitCode, adapter: null };
  mkdirSync(o.fetchTo, { recursive: true });
  await tarPipe(t, o.fetchTo, `tar -C ${dir}/output/adapter -cf - .`, 'down');
  return { cancelled, exitCode, adapter: o.fetchTo };
}

function tryJson(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
