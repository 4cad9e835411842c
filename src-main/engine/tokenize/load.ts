import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { openGguf } from '../io/gguf.js';
import type { GgufValue } from '../io/gguf-types.js';
import { tokenizerJsonFromGguf } from './gguf-tokenizer.js';
import { HfTextTokenizer } from './hf-tokenizer.js';
import type { TextTokenizer } from './types.js';

function readJsonIfExists(file: string): Record<string, unknown> | null {
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

/** A special token in tokenizer_config.json is a string or an AddedToken-like { content }. */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** chat_template may be a string, or a list of named templates (the one named "default" is the chat one). */
function pickTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v as Array<{ name?: string; template?: string }>;
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/**
 * Tokenizer of a Hugging Face folder: tokenizer.json, plus tokenizer_config.json (special tokens, chat
 * template), chat_template.jinja, config.json / generation_config.json (bos/eos ids). Null when the folder
 * has no tokenizer.json.
 */
export function loadTokenizerFromDir(dir: string): HfTextTokenizer | null {
  const tjFile = join(dir, 'tokenizer.json');
  const tj = readJsonIfExists(tjFile);
  if (!tj) return null;
  const tc = readJsonIfExists(join(dir, 'tokenizer_config.json')) ?? {};
  const cfg = readJsonIfExists(join(dir, 'config.json')) ?? {};
  const gen = readJsonIfExists(join(dir, 'generation_config.json')) ?? {};
  let chatTemplate = pickTemplate(tc.chat_template);
  const jinja = join(dir, 'chat_template.jinja');
  if (!chatTemplate && existsSync(jinja)) chatTemplate = readFileSync(jinja, 'utf8');
  const eosToken = tokenString(tc.eos_token);
  try {
    return new HfTextTokenizer(tj, {
      config: tc,
      bosToken: tokenString(tc.bos_token),
      bosId: idList(cfg.bos_token_id)[0] ?? idList(gen.bos_token_id)[0] ?? null,
      eosTokens: eosToken === null ? [] : [eosToken],
      eosIds: [...idList(cfg.eos_token_id), ...idList(gen.eos_token_id)],
      chatTemplate,
    });
  } catch (err) {
    throw new GraftError('BAD_FILE', `${tjFile}: cannot build a tokenizer (${(err as Error).message})`, { file: tjFile, cause: err });
  }
}

/** Tokenizer embedded in GGUF metadata (tokenizer.ggml.*), null when the file carries none. */
export function loadTokenizerFromGguf(md: Record<string, GgufValue>, file: string): HfTextTokenizer | null {
  if (!('tokenizer.ggml.model' in md)) return null;
  const { tokenizerJson, extras } = tokenizerJsonFromGguf(md, file);
  return new HfTextTokenizer(tokenizerJson, extras);
}

/** Tokenizer for a model path: a Hugging Face folder or a .gguf file. */
export async function loadTokenizer(path: string): Promise<TextTokenizer | null> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new GraftError('NOT_FOUND', `${path}: no such file or folder`, { file: path, cause: err });
  }
  if (isDir) return loadTokenizerFromDir(path);
  const g = openGguf(path);
  try {
    return loadTokenizerFromGguf(g.metadata, path);
  } finally {
    g.close();
  }
}
