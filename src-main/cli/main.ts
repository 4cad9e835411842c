/** Entry point of the `graft` CLI: builds the commander program from every registered command group. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { GraftError, toErrorData } from '../engine/errors';
import { wordError } from '../engine/options/word-error';
import { registrars } from './commands/index';
import { cliName } from './commands/schema-flags';

interface PackageJson {
  name: string;
  version: string;
  description: string;
}

function readPackageJson(): PackageJson {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson;
}

function buildProgram(): Command {
  const pkg = readPackageJson();
  const program = new Command(pkg.name)
    .description(pkg.description)
    .version(pkg.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError()
    .enablePositionalOptions();
  for (const register of registrars) register(program);
  return program;
}

// A reader that stops early (`graft generate --stream | head -c 5`) closes the pipe: the output is over,
// which is no error of ours. Anything else on the standard streams is.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    // Engine and store errors carry a code, the file/place concerned and the option at fault (by its schema
    // key, worded here as its flag): print them, not a stack.
    const data = toErrorData(err);
    const place = [data.file, data.where].filter(Boolean).join(': ');
    const message = wordError(data, cliName);
    console.error(`graft: ${data.code}: ${message}${place ? ` (${place})` : ''}`);
    if (!(err instanceof GraftError) && process.env.GRAFT_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}

await main();
