/**
 * The app's model registry (models.json in its data folder, written by the Models screen) read from the CLI, so a
 * model the GUI registered can be named on the command line: `graft train --model "SmolLM2 135M"`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../engine/errors.js';
import { dataDir } from './paths.js';

export interface RegisteredModel {
  id: string;
  name: string;
  path: string;
}

/** The models the app registered; none when it never ran here. A registry that cannot be read is an error, naming it. */
export function registeredModels(env: NodeJS.ProcessEnv = process.env): RegisteredModel[] {
  const file = path.join(dataDir(env), 'models.json');
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: the app's model registry is not valid JSON`, { file, cause: err });
  }
  const models = (parsed as { models?: unknown })?.models;
  if (!Array.isArray(models)) return [];
  return models.filter((m): m is RegisteredModel => typeof m?.id === 'string' && typeof m?.name === 'string' && typeof m?.path === 'string');
}

/**
 * A model argument as a path: a file or folder that exists is taken as it is; otherwise the name (or id) of a model
 * registered in the app. `field` is the option's key, for the error's wording (--model, --base).
 */
export function resolveModelRef(ref: string, field: string, env: NodeJS.ProcessEnv = process.env): string {
  if (existsSync(ref)) return ref;
  const models = registeredModels(env);
  const found = models.find((m) => m.id === ref) ?? models.find((m) => m.name === ref) ?? models.find((m) => m.name.toLowerCase() === ref.toLowerCase());
  if (found) return found.path;
  const known = models.length ? `; models registered in the app: ${models.map((m) => JSON.stringify(m.name)).join(', ')}` : '';
  throw new GraftError('NOT_FOUND', `"${ref}" is neither a file or folder nor the name of a model registered in the app${known}`, { field, file: ref });
}
