import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { createHandlers } from '../../ipc/handlers';
import { startHost } from '../../host/server';
import { findDemoModel } from '../../services/models/index';
import { createServices } from '../../services/index';
import type { CommandRegistrar } from './index';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_PORT = 5199;

function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  spawn(cmd, args, { stdio: 'ignore', detached: true })
    .on('error', () => console.error(`graft serve: could not open a browser; open the URL above by hand`))
    .unref();
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GraftError('BAD_INPUT', `--port must be an integer from 0 to 65535, got "${value}"`, { where: '--port' });
  }
  return port;
}

async function serve(opts: { port: number; renderer: string; open?: boolean; allowDir?: string[] }): Promise<void> {
  const rendererDir = path.resolve(opts.renderer);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new GraftError('NOT_FOUND', `No built renderer in ${rendererDir}: run \`npm run build\` first (or \`npm run serve\`)`, {
      file: path.join(rendererDir, 'index.html'),
    });
  }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const services = createServices({ name: pkg.name, version: pkg.version, platform: process.platform });
  const allowedRoots = opts.allowDir?.length ? opts.allowDir : undefined;
  // The bundled demo model lives with the app, outside any served folder: the page may name that file alone.
  const demo = findDemoModel();
  const allowedFiles = demo ? [demo] : [];
  // Browser uploads (adapter imports) are written into the data folder, never the shared system temp folder.
  const uploadDir = path.join(services.settings.folders().data, 'uploads');
  const host = await startHost({ rendererDir, port: opts.port, handlers: createHandlers(services), events: services.events, allowedRoots, allowedFiles, uploadDir }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        throw new GraftError('IO', `Port ${opts.port} is in use; pick another with --port (0 = any free port)`);
      throw err;
    },
  );
  void services.worker.start().catch(() => undefined); // warm the engine; its status is streamed to the page
  console.log(`Graft is served on 127.0.0.1 only. Open this URL (it holds this launch's access token):`);
  console.log(`  ${host.url}`);
  console.log(`On a remote machine, tunnel first: ssh -L ${host.port}:127.0.0.1:${host.port} <that machine>`);
  if (opts.open) openInBrowser(host.url);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await host.close();
  await services.dispose();
}

export const registerServe: CommandRegistrar = (program: Command) => {
  program
    .command('serve')
    .description('serve the app to a web browser on this machine (127.0.0.1 only, token-protected), e.g. on a headless GPU box')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', parsePort, DEFAULT_PORT)
    .option('--renderer <dir>', 'folder of the built renderer', path.join(ROOT, 'out', 'renderer'))
    .option('--open', 'open the URL in the default browser')
    .option('--allow-dir <dirs...>', 'folders whose files the page may name (default: your home folder; system folders are refused)')
    .action(serve);
};
