// Run by `npm start` / `npm run dev`: npm skips Electron's download script (install scripts need approval and
// CI has no route to Electron's downloads), so fetch the binary the first time the app is started.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);

function installed() {
  try {
    return existsSync(require('electron'));
  } catch {
    return false;
  }
}

if (!installed()) {
  console.log("graft: Electron's binary is not installed yet; downloading it (once)...");
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [require.resolve('electron/install.js')], { stdio: 'inherit', env });
  if (r.status !== 0 || !installed()) {
    console.error(
      'graft: could not download Electron. Without it, use the browser version: `npm run serve`.\n' +
        'Behind a proxy or mirror, see https://www.electronjs.org/docs/latest/tutorial/installation',
    );
    process.exit(1);
  }
}
