/**
 * `graft models`: the model families Graft supports; `graft models download REPO --out DIR`: fetch a
 * model repo from the Hugging Face Hub (GRAFT_HF_ENDPOINT for a mirror).
 */
import type { Command } from 'commander';
import { MODEL_FAMILIES } from '../../engine/io/model-families';
import { formatBytes } from '../../engine/train/memory-estimate';
import { downloadRepo, hubEndpoint } from '../../services/models/hf-download';
import type { CommandRegistrar } from './index';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function eta(ms: number | null): string {
  if (ms === null) return '?';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

async function download(repo: string, flags: { out: string; revision: string; file?: string[]; json?: boolean }): Promise<void> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  const tty = process.stderr.isTTY && !flags.json;
  try {
    const r = await downloadRepo({
      endpoint: hubEndpoint(),
      repo,
      revision: flags.revision,
      dest: flags.out,
      files: flags.file,
      signal: ac.signal,
      progressEveryMs: flags.json ? 1000 : 200,
      onProgress: (p) => {
        if (flags.json) process.stdout.write(JSON.stringify({ type: 'progress', ...p }) + '\n');
        else if (tty) {
          const pct = p.total ? ((100 * p.bytes) / p.total).toFixed(1) : '0';
          process.stderr.write(`\r${p.verifying ? 'verifying' : 'downloading'} ${p.file} (${p.fileIndex + 1}/${p.fileCount}) ${pct}% ${formatBytes(p.bytes)}/${formatBytes(p.total)} ${formatBytes(p.speed)}/s ETA ${eta(p.etaMs)}   `);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    if (flags.json) process.stdout.write(JSON.stringify({ type: 'done', dir: r.dir, files: r.files, sizeOnly: r.sizeOnly }) + '\n');
    else {
      console.error(`downloaded and verified ${r.files.length} files into ${r.dir}`);
      for (const f of r.sizeOnly) console.error(`warning: ${f} was verified by size only (the Hub listed no checksum for it)`);
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export const registerModels: CommandRegistrar = (program: Command) => {
  const models = program
    .command('models')
    .description('base models: the supported families (no subcommand), download from the Hugging Face Hub')
    .option('--json', 'print the families as JSON')
    .action((flags: { json?: boolean }) => {
      if (flags.json) return void process.stdout.write(JSON.stringify({ families: MODEL_FAMILIES }) + '\n');
      console.log('Supported model families (Hugging Face folders with config.json + safetensors, or GGUF files):');
      for (const f of MODEL_FAMILIES) console.log(`  ${f.name.padEnd(30)} ${f.architectures.join(', ')}${f.gguf.length ? `; GGUF ${f.gguf.join(', ')}` : ''}`);
    });
  models
    .command('download <repo>')
    .description('download a model repo (config, tokenizer, weights) with resume and checksum verification; run again to resume')
    .requiredOption('--out <dir>', 'folder to put the files in')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--file <name>', 'a file of the repo to fetch (repeatable; needed when the repo has several GGUF files)', collect)
    .option('--json', 'print JSON lines (progress, done) on stdout')
    .action(download);
};
