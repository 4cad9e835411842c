/** `graft job export`: a training run handed to accelerate (FSDP / DeepSpeed ZeRO-3) + PEFT on another machine. */
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { exportJobBundle } from '../../engine/job/export-bundle';
import { runBundleOverSsh } from '../../engine/job/ssh-runner';
import type { TrainEvent } from '../../engine/train/events';
import type { CommandRegistrar } from './index';
import { intFlag, choiceFlag } from './parse-flags';
import { resolveModelRef } from '../../store/model-registry';
import { addTrainFlags, trainJobFromFlags, type TrainFlags } from './train';
import { ProgressPrinter } from './train-progress';

type ExportFlags = TrainFlags & {
  name?: string;
  includeModel?: boolean;
  hubId?: string;
  json?: boolean;
};

async function exportJob(flags: ExportFlags): Promise<void> {
  if (!flags.out) throw new GraftError('BAD_INPUT', 'graft job export needs --out DIR (a new folder for the bundle)', { where: '--out' });
  if (!flags.model) throw new GraftError('BAD_INPUT', 'graft job export needs --model PATH (a model folder or .gguf file)', { where: '--model' });
  if (!flags.data) throw new GraftError('BAD_INPUT', 'graft job export needs --data FILE', { where: '--data' });
  const options = await trainJobFromFlags(flags, { model: resolveModelRef(flags.model, 'model'), data: flags.data, out: flags.out });
  const warn = (w: string) => (flags.json ? console.log(JSON.stringify({ type: 'warning', message: w })) : console.error(`warning: ${w}`));
  const manifest = await exportJobBundle(options, flags.out, { name: flags.name, includeModel: flags.includeModel, hubId: flags.hubId, onWarning: warn });
  if (flags.json) {
    console.log(JSON.stringify({ type: 'result', out: flags.out, manifest }));
    return;
  }
  const t = manifest.settings.train;
  console.log(
    [
      `job bundle ${manifest.id} written to ${flags.out}`,
      `  base:    ${manifest.base.id} (${manifest.base.arch})${manifest.base.inBundle ? ', copied into model/' : ''}`,
      `  data:    ${manifest.dataset.trainRows} training rows, ${manifest.dataset.valRows} held out; ${t.total_steps} steps of ${t.batch} x ${t.grad_accum} rows`,
      ...manifest.notes.map((n) => `  note:    ${n}`),
      `then, on the GPU machine:  pip install -r requirements.txt && bash launch.sh`,
      `and back here:             graft adapters import ${flags.out}/output/adapter --base ${manifest.base.format === 'gguf' || !manifest.base.inBundle ? flags.model : '<base>'}`,
    ].join('\n'),
  );
}

interface RunFlags {
  ssh: string;
  port?: number;
  identity?: string;
  sshOption?: string[];
  remoteDir?: string;
  nproc?: number;
  backend: 'fsdp' | 'deepspeed';
  fetch?: string;
  json?: boolean;
}

const TRAIN_EVENTS = new Set(['start', 'step', 'eval', 'done']);

async function runJob(bundle: string, flags: RunFlags): Promise<void> {
  const printer = new ProgressPrinter();
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const fetchTo = flags.fetch ?? join(bundle, 'output', 'adapter');
  try {
    const r = await runBundleOverSsh(
      { host: flags.ssh, port: flags.port, identity: flags.identity, options: (flags.sshOption ?? []).flatMap((o) => ['-o', o]) },
      {
        bundle,
        remoteDir: flags.remoteDir ?? `graft-jobs/${basename(resolve(bundle))}`,
        env: { GRAFT_BACKEND: flags.backend, ...(flags.nproc ? { GRAFT_NPROC: String(flags.nproc) } : {}) },
        fetchTo,
        signal: ac.signal,
        onEvent: (e) => {
          if (flags.json) console.log(JSON.stringify(e));
          else if (TRAIN_EVENTS.has(e.type)) printer.event(e as TrainEvent);
          else if (e.type === 'error') printer.warn(String((e as { message?: unknown }).message));
        },
        onLog: (l) => (flags.json ? undefined : process.stderr.write(`${flags.ssh}: ${l}\n`)),
      },
    );
    if (r.cancelled) process.exitCode = 130;
    else if (r.exitCode !== 0) throw new GraftError('IO', `the run on ${flags.ssh} failed (exit ${r.exitCode}); its output is above`, { where: flags.ssh });
    else if (flags.json) console.log(JSON.stringify({ type: 'result', adapter: r.adapter }));
    else console.error(`adapter fetched to ${r.adapter}; import it with: graft adapters import ${r.adapter} --base <the base model>`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const registerJob: CommandRegistrar = (program: Command) => {
  const job = program.command('job').description('hand a training run to accelerate (FSDP / DeepSpeed) + PEFT on another machine');
  addTrainFlags(
    job.command('export').description('write a self-contained bundle (rendered data, train.py, accelerate configs, launch.sh, job.sbatch) for the same run'),
    'a new folder for the bundle',
  )
    .option('--name <name>', 'the adapter name once imported back (default: the bundle folder name)')
    .option('--include-model', 'copy a Hugging Face base folder into the bundle (a GGUF base is always converted into it)')
    .option('--hub-id <owner/name>', "the base's Hugging Face Hub id, for the cluster to download when the base is not in the bundle")
    .option('--json', 'print the manifest as JSON')
    .action(exportJob);

  job
    .command('run <bundle>')
    .description("run an exported bundle on another machine over SSH (your own ssh, keys and agent), stream its progress, fetch the adapter; Ctrl-C cancels it there")
    .requiredOption('--ssh <host>', 'user@host or a Host alias from ~/.ssh/config')
    .option('--port <n>', 'ssh port', intFlag('--port', 1))
    .option('--identity <file>', 'private key (default: your agent and ssh config)')
    .option('--ssh-option <opt>', 'an ssh -o option, e.g. ProxyJump=gateway (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--remote-dir <dir>', 'where the bundle goes there (default: graft-jobs/<bundle name> in the remote home)')
    .option('--nproc <n>', 'GPUs to use there (default: all)', intFlag('--nproc', 1))
    .option('--backend <b>', 'fsdp | deepspeed', choiceFlag('--backend', ['fsdp', 'deepspeed'] as const), 'fsdp')
    .option('--fetch <dir>', 'where the finished adapter is copied back (default: <bundle>/output/adapter)')
    .option('--json', 'print the remote JSON lines as they come')
    .action(runJob);
};
