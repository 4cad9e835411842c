/**
 * Uploads from the browser page (an adapter folder, a safetensors file with its config, a zip): the page
 * declares the files (`app.uploadStart`), sends each in base64 pieces that fit one socket frame
 * (`app.uploadChunk`), in order, each written to disk as it comes, so an upload of any size holds one piece
 * in memory. `app.uploadFinish` checks every file is whole and makes the upload's path one the page may name
 * (for `adapters.import`); `app.uploadDiscard` removes it. Uploads live in the app's data folder (never the
 * shared system temp folder) and are removed when the host closes, or after an hour untouched.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../engine/errors';
import { UPLOAD_PIECE_BYTES, type UploadChunkReq, type UploadDone, type UploadStartReq } from '../ipc/app';

const MAX_FILES = 10_000;
const IDLE_MS = 60 * 60_000;

interface UploadFile {
  name: string;
  path: string;
  bytes: number;
  written: number;
}

interface Upload {
  dir: string;
  files: UploadFile[];
  touched: number;
  done: string | null;
}

const bad = (where: string, message: string) => new GraftError('BAD_INPUT', message, { where });

/** A relative path of forward-slash segments, none of them empty, "." or "..". */
function checkName(name: unknown, i: number): string {
  const where = `files[${i}].name`;
  if (typeof name !== 'string' || !name || name.length > 1000) throw bad(where, `${where} must be a path of up to 1000 characters`);
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || /[\0\\:]/.test(s)))
    throw bad(where, `${where} "${name}" must be a relative path inside the upload (no "..", "\\", ":" or empty parts)`);
  return name;
}

export class Uploads {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    /** A folder of the app's data folder. */
    private readonly root: string,
    /** Called with a finished upload's path (allow it), and with `false` when it is removed (forbid it again). */
    private readonly onPath: (p: string, allowed: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {
    // What a host killed mid-upload left behind (another running host's uploads are younger than an hour).
    for (const e of existsSync(root) ? readdirSync(root, { withFileTypes: true }) : []) {
      const p = path.join(root, e.name);
      if (e.isDirectory() && this.now() - statSync(p).mtimeMs > IDLE_MS) rmSync(p, { recursive: true, force: true });
    }
  }

  start(req: UploadStartReq): { uploadId: string } {
    this.sweep();
    const list = req?.files;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_FILES) throw bad('files', `files must list 1 to ${MAX_FILES} files`);
    const names = new Set<string>();
    let total = 0;
    const files = list.map((f, i) => {
      const name = checkName(f?.name, i);
      const bytes = f?.bytes;
      if (!Number.isSafeInteger(bytes) || bytes < 0) throw bad(`files[${i}].bytes`, `files[${i}].bytes must be a whole number >= 0`);
      if (names.has(name)) throw bad(`files[${i}].name`, `"${name}" is listed twice`);
      names.add(name);
      total += bytes;
      return { name, bytes, written: 0 };
    });
    for (const n of names) {
      const parts = n.split('/');
      for (let k = 1; k < parts.length; k++)
        if (names.has(parts.slice(0, k).join('/'))) throw bad('files', `"${parts.slice(0, k).join('/')}" is both a file and the folder of "${n}"`);
    }
    mkdirSync(this.root, { recursive: true });
    const fs = statfsSync(this.root);
    const free = Number(fs.bavail) * Number(fs.bsize);
    if (total > free) throw new GraftError('IO', `the upload is ${total} bytes, and ${this.root} has ${free} bytes free`, { file: this.root });
    const uploadId = randomBytes(12).toString('base64url');
    const dir = path.join(this.root, uploadId);
    const upload: Upload = { dir, touched: this.now(), done: null, files: files.map((f) => ({ ...f, path: path.join(dir, ...f.name.split('/')) })) };
    for (const f of upload.files) {
      mkdirSync(path.dirname(f.path), { recursive: true });
      writeFileSync(f.path, new Uint8Array(0));
    }
    this.uploads.set(uploadId, upload);
    return { uploadId };
  }

  chunk(req: UploadChunkReq): { received: number } {
    const u = this.get(req?.uploadId);
    if (u.done) throw bad('uploadId', 'this upload is finished');
    const f = Number.isInteger(req.index) ? u.files[req.index] : undefined;
    if (!f) throw bad('index', `index must name one of the upload's ${u.files.length} files`);
    if (req.offset !== f.written) throw bad('offset', `${f.name}: expected the piece at byte ${f.written}, got one at ${String(req.offset)}`);
    if (typeof req.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(req.data)) throw bad('data', 'data must be base64');
    const piece = Buffer.from(req.data, 'base64');
    if (piece.length === 0 || piece.length > UPLOAD_PIECE_BYTES) throw bad('data', `a piece must hold 1 to ${UPLOAD_PIECE_BYTES} bytes, got ${piece.length}`);
    if (f.written + piece.length > f.bytes) throw bad('data', `${f.name}: more bytes than the ${f.bytes} declared`);
    appendFileSync(f.path, piece);
    f.written += piece.length;
    u.touched = this.now();
    return { received: f.written };
  }

  finish(uploadId: string): UploadDone {
    const u = this.get(uploadId);
    const short = u.files.find((f) => f.written !== f.bytes);
    if (short) throw new GraftError('BAD_INPUT', `${short.name}: ${short.written} of ${short.bytes} bytes arrived; upload it again`, { where: 'uploadId', file: short.name });
    if (!u.done) {
      const tops = new Set(u.files.map((f) => f.name.split('/')[0]));
      const p = realpathSync(tops.size === 1 ? path.join(u.dir, [...tops][0]) : u.dir);
      u.done = p;
      this.onPath(p, true);
    }
    u.touched = this.now();
    return { path: u.done };
  }

  discard(uploadId: string): void {
    const u = this.get(uploadId);
    this.remove(uploadId, u);
  }

  /** Removes every upload (the host is closing). */
  close(): void {
    for (const [id, u] of this.uploads) this.remove(id, u);
  }

  private get(uploadId: unknown): Upload {
    const u = typeof uploadId === 'string' ? this.uploads.get(uploadId) : undefined;
    if (!u) throw new GraftError('NOT_FOUND', 'no such upload (it was finished and removed, or the host restarted)', { where: 'uploadId' });
    return u;
  }

  private remove(id: string, u: Upload): void {
    this.uploads.delete(id);
    if (u.done) this.onPath(u.done, false);
    rmSync(u.dir, { recursive: true, force: true });
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, u] of this.uploads) if (t - u.touched > IDLE_MS) this.remove(id, u);
  }
}
