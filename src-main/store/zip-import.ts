/**
 * Unpack a zipped PEFT adapter into a folder we control, refusing anything unsafe before a byte is written:
 * entries that would land outside the folder (../evil, absolute paths, drive letters), files that are not
 * part of a LoRA adapter (pickles, scripts, anything else), more entries or bytes than an adapter can have.
 * Sizes are checked as declared in the zip's directory, and yauzl also stops any entry whose data inflates
 * past its declared size, so a zip bomb cannot lie its way through. Each member's bytes are checked against
 * its CRC-32 as they are written (yauzl does not), so a flipped bit cannot import altered tensors.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { GraftError } from '../engine/errors.js';
import { printable } from '../engine/printable.js';

export interface ZipLimits {
  maxEntries: number;
  /** adapter_model.safetensors */
  maxTensorFileBytes: number;
  /** each JSON / README file */
  maxTextFileBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 64,
  maxTensorFileBytes: 8 * 1024 ** 3,
  maxTextFileBytes: 4 * 1024 ** 2,
};

/** The files an adapter zip may hold, and which of them are text. */
const ALLOWED = new Map<string, 'tensor' | 'text'>([
  ['adapter_model.safetensors', 'tensor'],
  ['adapter_config.json', 'text'],
  ['graft.json', 'text'],
  ['README.md', 'text'],
]);
/** Junk that archivers add; skipped, never extracted. */
const IGNORED = (name: string) => name.startsWith('__MACOSX/') || path.posix.basename(name) === '.DS_Store';

function fmtBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${n} bytes`;
}

function escapes(name: string): boolean {
  if (name.includes('\\') || name.includes('\0')) return true;
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return true;
  return name.split('/').some((seg) => seg === '..');
}

/** yauzl refuses unsafe names itself; say so in words that name the entry and the rule. */
function explainZipError(zip: string, err: Error): GraftError {
  const m = /^(invalid relative path|absolute path|invalid characters in fileName): (.*)$/.exec(err.message);
  if (m) return new GraftError('BAD_FILE', `${zip}: entry "${printable(m[2])}" would be written outside the adapter folder; refusing the zip`, { file: zip, where: printable(m[2]), cause: err });
  return new GraftError('BAD_FILE', `${zip}: not a readable zip (${printable(err.message)})`, { file: zip, cause: err });
}

/** Passes bytes through and fails at the end when their CRC-32 is not the one the zip's directory declares. */
function crcCheck(expected: number): Transform {
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
      done(crc >>> 0 === expected >>> 0 ? null : new Error(`its bytes have CRC-32 ${hex(crc)}, the zip declares ${hex(expected)}: the zip is corrupt`));
    },
  });
}

/** Extract the adapter files of `zip` into the existing empty folder `dest`. Returns the file names written. */
export async function extractAdapterZip(zip: string, dest: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<string[]> {
  let zf: yauzl.ZipFile;
  try {
    zf = await yauzl.openPromise(zip, { autoClose: false, validateEntrySizes: true, strictFileNames: true });
  } catch (err) {
    throw explainZipError(zip, err as Error);
  }
  try {
    if (zf.entryCount > limits.maxEntries) throw new GraftError('BAD_FILE', `${zip}: holds ${zf.entryCount} entries; an adapter has at most ${limits.maxEntries}`, { file: zip });
    const chosen: yauzl.Entry[] = [];
    let folder: string | undefined;
    try {
      for await (const e of zf.eachEntry()) {
        const name = e.fileName;
        const bad = (msg: string) => new GraftError('BAD_FILE', `${zip}: entry "${printable(name)}" ${printable(msg)}`, { file: zip, where: printable(name) });
        if (escapes(name)) throw bad('would be written outside the adapter folder; refusing the zip');
        if (name.endsWith('/') || IGNORED(name)) continue;
        const base = path.posix.basename(name);
        const kind = ALLOWED.get(base);
        if (!kind) {
          const why = /\.(bin|pt|pth|pkl|ckpt)$/i.test(base) ? ' (a pickle file, which can run code when loaded)' : '';
          throw bad(`is not part of a PEFT LoRA adapter${why}; allowed files: ${[...ALLOWED.keys()].join(', ')}`);
        }
        const dir = path.posix.dirname(name);
        if (folder !== undefined && dir !== folder) throw bad(`is in folder "${dir}" but the adapter files are in "${folder}"; a zip must hold one adapter`);
        folder = dir;
        const max = kind === 'tensor' ? limits.maxTensorFileBytes : limits.maxTextFileBytes;
        if (e.uncompressedSize > max) throw bad(`declares ${fmtBytes(e.uncompressedSize)} uncompressed, more than the ${fmtBytes(max)} allowed for it`);
        if (e.isEncrypted()) throw bad('is encrypted');
        if (chosen.some((c) => path.posix.basename(c.fileName) === base)) throw bad('appears twice');
        chosen.push(e);
      }
    } catch (err) {
      throw err instanceof GraftError ? err : explainZipError(zip, err as Error);
    }
    if (!chosen.some((e) => e.fileName.endsWith('adapter_config.json'))) throw new GraftError('BAD_FILE', `${zip}: has no adapter_config.json`, { file: zip });
    if (!chosen.some((e) => e.fileName.endsWith('adapter_model.safetensors'))) throw new GraftError('BAD_FILE', `${zip}: has no adapter_model.safetensors`, { file: zip });
    const written: string[] = [];
    for (const e of chosen) {
      const base = path.posix.basename(e.fileName);
      const out = path.join(dest, base);
      try {
        const stream = await zf.openReadStreamPromise(e);
        await pipeline(stream, crcCheck(e.crc32), createWriteStream(out, { flags: 'wx' }));
      } catch (err) {
        throw new GraftError('BAD_FILE', `${zip}: entry "${printable(e.fileName)}" could not be extracted (${printable((err as Error).message)})`, { file: zip, where: printable(e.fileName), cause: err });
      }
      const fh = await fsp.open(out, 'r+');
      await fh.sync().finally(() => fh.close());
      written.push(base);
    }
    return written;
  } finally {
    zf.close();
  }
}
