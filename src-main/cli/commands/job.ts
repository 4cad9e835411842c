/** `graft job export`: a training run handed to accelerate (FSDP / DeepSpeed ZeRO-3) + PEFT on another machine. */
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { exportJobBundle } from '../../engine/job/export-bundle';
import type { CommandRegistrar } from './index';
import { addTrainFlags, trainOptionsFromFlags, type TrainFlags } from './train';

interface ExportFlags extends TrainFlags {
  name?: string;
  includeModel?: boolean;
  hubId?: string;
  json?: boolean;
}

async function exportJob(flags: ExportFlags): Promise<void> {
  if (!flags.out) throw new GraftError('BAD_INPUT', 'graft job export needs --out DIR (a new folder for the bundle)', { where: '--out' });
  if (!flags.model) throw new GraftError('BAD_INPUT', 'graft job export needs --model PATH (a model folder or .gguf file)', { where: '--model' });
  if (!flags.data) throw new GraftError('BAD_INPUT', 'graft job export needs --data FILE', { where: '--data' });
  if (flags.steps !== undefined && flags.epochs !== undefined) throw new GraftError('BAD_INPUT', 'give --steps or --epochs, not both', { where: '--steps' });
  const options = await trainOptionsFromFlags(flags, { model: flags.model, data: flags.data, out: flags.out });
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
};
