import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Content hash of a base model: sha256 of a .gguf file, or of a folder's config.json and *.safetensors files
 * (names and bytes, sorted by name), so two bases with one name are told apart.
 */
export async function modelContentHash(path: string): Promise<string> {
  const h = createHash('sha256');
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((n) => n === 'config.json' || n.endsWith('.safetensors'))
        .sort()
        .map((n) => join(path, n))
    : [path];
  for (const f of files) {
    if (files.length > 1) h.update(`${basename(f)}\0`);
    for await (const chunk of createReadStream(f, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}
