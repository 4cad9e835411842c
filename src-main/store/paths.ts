/** Where the app keeps its data (model registry, runs) and the adapter library when no --library is given. */
import os from 'node:os';
import path from 'node:path';

/** The folder Electron's app.getPath('userData') gives for an app named graft, computed without Electron. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'graft');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'graft');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'graft');
}

/** GRAFT_LIBRARY overrides the default, so scripts and tests can point every command at one folder. */
export function defaultLibraryDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.GRAFT_LIBRARY ?? path.join(userDataDir(env), 'library');
}

/** GRAFT_DATA_DIR overrides the app's user data folder (tests, portable installs): the model registry, datasets, runs. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.GRAFT_DATA_DIR ?? userDataDir(env);
}
