/**
 * Export an adapter from the library as a PEFT folder or a .zip of one: the files PEFT's
 * PeftModel.from_pretrained loads, byte for byte as stored, plus graft.json (which PEFT ignores) so the
 * metadata travels with it. Output appears whole or not at all (built under a temp name, then renamed).
 */
import { closeSync, existsSync, fsyncSync, openSync, promises as fsp, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Zip, ZipPassThrough } from 'fflate';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../engine/adapters/compat.js';
import { GraftError } from '../engine/errors.js';
import { copyFileDurable, fsyncDir, noSpaceAt, tempName } from '../engine/io/atomic.js';
import { META_FILE } from './adapter-meta.js';
import type { LibraryEntry } from './library.js';

const EXPORTED = [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, META_FILE];
// fflate writes classic zips (no zip64): each entry and the archive must stay under 4 GiB
const ZIP_LIMIT = 0xffff_ffff;

async function refuseExisting(out: string): Promise<void> {
  if (!existsSync(out)) return;
  const st = await fsp.stat(out);
  if (st.isDirectory() && (await fsp.readdir(out)).length === 0) {
    await fsp.rmdir(out);
    return;
  }
  throw new GraftError('BAD_INPUT', `${out} already exists; choose a new path`, { file: out });
}

export async function exportPeftFolder(entry: LibraryEntry, out: string): Promise<string[]> {
  await refuseExisting(out);
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = tempName(path.resolve(out));
  await fsp.mkdir(tmp);
  try {
    for (const f of EXPORTED) await copyFileDurable(path.join(entry.dir, f), path.join(tmp, f));
    await fsyncDir(tmp);
    await fsp.rename(tmp, out);
    await fsyncDir(path.dirname(path.resolve(out)));
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw noSpaceAt(err, path.resolve(out));
  }
  return EXPORTED.map((f) => path.join(out, f));
}

/** Stored (uncompressed) entries: safetensors barely compress, and storing keeps export as fast as a copy. */
export async function exportPeftZip(entry: LibraryEntry, out: string): Promise<void> {
  await refuseExisting(out);
  let total = 0;
  for (const f of EXPORTED) total += (await fsp.stat(path.join(entry.dir, f))).size;
  if (total >= ZIP_LIMIT) throw new GraftError('UNSUPPORTED', `adapter ${entry.meta.name} is ${total} bytes, too large for a zip; export a folder instead`, { where: entry.meta.id });
  await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = tempName(path.resolve(out));
  const fd = openSync(tmp, 'w');
  try {
    let failure: Error | null = null;
    const zip = new Zip((err, chunk) => {
      if (err) failure = err;
      else writeSync(fd, chunk);
    });
    const folder = entry.meta.name.replace(/[^A-Za-z0-9._-]+/g, '_') || entry.meta.id;
    for (const f of EXPORTED) {
      const file = new ZipPassThrough(`${folder}/${f}`);
      zip.add(file);
      const src = openSync(path.join(entry.dir, f), 'r');
      try {
        for (;;) {
          // a fresh buffer per chunk: the zip stream may hold on to what it is given
          const buf = Buffer.allocUnsafe(1 << 22);
          const n = readSync(src, buf, 0, buf.length, null);
          if (n === 0) break;
          file.push(buf.subarray(0, n));
        }
        file.push(new Uint8Array(0), true);
      } finally {
        closeSync(src);
      }
    }
    zip.end();
    if (failure) throw failure;
    fsyncSync(fd);
    closeSync(fd);
    await fsp.rename(tmp, out);
    await fsyncDir(path.dirname(path.resolve(out)));
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    await fsp.rm(tmp, { force: true });
    throw noSpaceAt(err, path.resolve(out));
  }
}
