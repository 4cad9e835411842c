/**
 * A folder streamed as one archive to a browser download: a zip (stored entries, through fflate) when it fits
 * a classic zip, else a tar (a merged model over 4 GiB). Neither is built on disk first: files are read in
 * pieces and written to the response as it drains, so a folder of any size costs a few MiB of memory.
 *
 * The tar is POSIX ustar with pax records for what ustar cannot hold (names over 100 bytes, files of 8 GiB and
 * more); GNU tar, bsdtar (macOS, Windows' tar.exe) and 7-Zip read it.
 */
import { once } from 'node:events';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { Zip, ZipPassThrough } from 'fflate';

/** fflate writes classic zips (no zip64): each entry and the archive must stay under 4 GiB. */
export const ZIP_LIMIT = 0xffff_ffff;
const READ_PIECE = 1 << 22;

export interface FolderFile {
  /** The path inside the archive ("my-adapter/adapter_config.json"), with forward slashes. */
  name: string;
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** Every regular file under `dir`, sorted, named `<folder name>/<relative path>`. Links are left out. */
export async function folderFiles(dir: string): Promise<FolderFile[]> {
  const top = path.basename(dir);
  const out: FolderFile[] = [];
  const walk = async (d: string, rel: string) => {
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p, `${rel}/${e.name}`);
      else if (e.isFile()) {
        const st = await fsp.stat(p);
        out.push({ name: `${rel}/${e.name}`, path: p, bytes: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  await walk(dir, top);
  return out;
}

/** zip when the archive fits a classic zip, else tar (the entries' headers counted generously). */
export function archiveKind(files: readonly FolderFile[]): 'zip' | 'tar' {
  const total = files.reduce((s, f) => s + f.bytes + 200 + 2 * f.name.length, 22);
  return total < ZIP_LIMIT ? 'zip' : 'tar';
}

/**
 * Writes to `out` and waits while it is full, so a slow browser holds back the reads, not the memory. A closed
 * connection (the download cancelled in the browser) ends the writing with an error instead of a wait forever.
 */
export function writer(out: Writable) {
  return async (chunk: Uint8Array) => {
    if (out.destroyed) throw new Error('the download was cancelled');
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
}

export async function streamZip(files: readonly FolderFile[], out: Writable): Promise<void> {
  const write = writer(out);
  const pending: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else pending.push(chunk);
  });
  const flush = async () => {
    for (const c of pending.splice(0)) await write(c);
    if (failure) throw failure;
  };
  for (const f of files) {
    const entry = new ZipPassThrough(f.name);
    entry.mtime = new Date(f.mtimeMs);
    zip.add(entry);
    for await (const piece of createReadStream(f.path, { highWaterMark: READ_PIECE })) {
      entry.push(piece as Buffer);
      await flush();
    }
    entry.push(new Uint8Array(0), true);
    await flush();
  }
  zip.end();
  await flush();
}

const BLOCK = 512;
/** ustar's octal fields: size holds up to 8 GiB - 1 in 11 digits. */
const USTAR_MAX_SIZE = 8 ** 11 - 1;

function octal(buf: Buffer, at: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', at, width, 'ascii');
}

function header(name: string, bytes: number, mtimeMs: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, Math.min(bytes, USTAR_MAX_SIZE));
  octal(h, 136, 12, Math.floor(mtimeMs / 1000));
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  // The checksum is summed with its own field as spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** A pax record "<len> key=value\n", whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

const padding = (bytes: number) => Buffer.alloc((BLOCK - (bytes % BLOCK)) % BLOCK);

export async function streamTar(files: readonly FolderFile[], out: Writable): Promise<void> {
  const write = writer(out);
  for (const f of files) {
    const records = (Buffer.byteLength(f.name) > 100 ? paxRecord('path', f.name) : '') + (f.bytes > USTAR_MAX_SIZE ? paxRecord('size', String(f.bytes)) : '');
    if (records) {
      const pax = Buffer.from(records, 'utf8');
      await write(header(`PaxHeader/${path.posix.basename(f.name)}`.slice(0, 100), pax.length, f.mtimeMs, 'x'));
      await write(pax);
      await write(padding(pax.length));
    }
    await write(header(f.name.slice(0, 100), f.bytes, f.mtimeMs, '0'));
    for await (const piece of createReadStream(f.path, { highWaterMark: READ_PIECE })) await write(piece as Buffer);
    await write(padding(f.bytes));
  }
  await write(Buffer.alloc(2 * BLOCK));
}
