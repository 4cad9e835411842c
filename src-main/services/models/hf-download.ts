/**
 * Downloads a model repository from the Hugging Face Hub (or anything speaking its HTTP API, such as a mirror
 * or the test's local server): lists the files through the API, fetches each with HTTP Range so an interrupted
 * download continues where it stopped, and verifies every file against the checksum the Hub publishes
 * (SHA-256 of LFS files; the git blob SHA-1 of small ones) before it takes its final name.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { GraftError } from '../../engine/errors';
import type { DownloadProgress } from '../../ipc/models';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.GRAFT_HF_ENDPOINT ?? env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
}

export interface HubFile {
  path: string;
  size: number;
  /** SHA-256 of the content (LFS files). */
  sha256?: string;
  /** Git blob SHA-1 (files stored in git itself). */
  gitOid?: string;
}

/** The counts of a download as the Models screen shows them (ipc/models.ts), for the file being fetched. */
export type DownloadProgressInfo = Pick<DownloadProgress, 'fileIndex' | 'fileCount' | 'bytes' | 'total' | 'speed' | 'etaMs' | 'resumedBytes'> & {
  file: string;
  verifying: boolean;
};

export interface DownloadOptions {
  endpoint?: string;
  repo: string;
  revision?: string;
  /** Folder the files go into (created). */
  dest: string;
  /** Paths inside the repo; by default the files a model needs (config, tokenizer, weights). */
  files?: string[];
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgressInfo) => void;
  /** Progress callbacks at most this often, in ms. */
  progressEveryMs?: number;
  /** A connection silent this long is given up (to be resumed), in ms; fetch alone would wait 5 minutes. */
  stallMs?: number;
}

export interface DownloadResult {
  dir: string;
  files: string[];
  /** Files the listing gave no checksum for (nor the server a hash header): checked by their size only. */
  sizeOnly: string[];
}

const DEFAULT_STALL_MS = 30_000;

const REPO_RE = /^[\w.-]+\/[\w.-]+$/;

export function checkRepoId(repo: string): void {
  if (!REPO_RE.test(repo) || repo.includes('..')) {
    throw new GraftError('BAD_INPUT', `"${repo}" is not a Hub repo id: it looks like owner/name (letters, digits, - _ .)`, { where: 'repo' });
  }
}

async function getJson(url: string, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal, headers: { accept: 'application/json' } }).catch((err: Error) => {
    if (signal?.aborted) throw err;
    throw new GraftError('IO', `cannot reach ${new URL(url).origin}: ${err.message}`, { cause: err });
  });
  if (!res.ok) return { status: res.status, body: null };
  return { status: res.status, body: await res.json() };
}

/** Every file of a repo at a revision, with sizes and checksums. */
export async function listRepoFiles(endpoint: string, repo: string, revision = 'main', signal?: AbortSignal): Promise<HubFile[]> {
  checkRepoId(repo);
  const rev = encodeURIComponent(revision);
  const tree = await getJson(`${endpoint}/api/models/${repo}/tree/${rev}?recursive=true`, signal);
  if (tree.status === 200 && Array.isArray(tree.body)) {
    return (tree.body as { type?: string; path: string; size: number; oid?: string; lfs?: { oid?: string; size?: number } }[])
      .filter((e) => e.type === 'file' || e.type === undefined)
      .map((e) => ({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, gitOid: e.lfs ? undefined : e.oid }));
  }
  // Older mirrors only have the model info endpoint; `blobs=true` adds sizes and LFS hashes.
  const info = await getJson(`${endpoint}/api/models/${repo}/revision/${rev}?blobs=true`, signal);
  const siblings = (info.body as { siblings?: { rfilename: string; size?: number; blobId?: string; lfs?: { sha256?: string; size?: number } }[] } | null)?.siblings;
  if (info.status === 200 && Array.isArray(siblings)) {
    return siblings.map((s) => ({ path: s.rfilename, size: s.lfs?.size ?? s.size ?? 0, sha256: s.lfs?.sha256, gitOid: s.lfs ? undefined : s.blobId }));
  }
  const status = tree.status === 200 ? info.status : tree.status;
  if (status === 401 || status === 403 || status === 404) {
    throw new GraftError('NOT_FOUND', `${repo}@${revision}: no such model repo on ${endpoint} (or it is private or gated)`, { where: 'repo' });
  }
  throw new GraftError('IO', `${endpoint}: listing ${repo} failed with HTTP ${status}`, { where: 'repo' });
}

const MODEL_FILE = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|vocab\.json|merges\.txt|.*\.safetensors|model\.safetensors\.index\.json|.*\.gguf)$/;

/** The files a model needs; a repo of several GGUF quantizations needs the caller to name one. */
export function pickModelFiles(all: HubFile[], requested?: string[]): HubFile[] {
  if (requested?.length) {
    const missing = requested.filter((r) => !all.some((f) => f.path === r));
    if (missing.length) throw new GraftError('NOT_FOUND', `the repo has no file ${missing.map((m) => `"${m}"`).join(', ')}`, { where: 'files' });
    return all.filter((f) => requested.includes(f.path));
  }
  const wanted = all.filter((f) => !f.path.includes('/') && MODEL_FILE.test(f.path));
  const hasSafetensors = wanted.some((f) => f.path.endsWith('.safetensors'));
  const ggufs = wanted.filter((f) => f.path.endsWith('.gguf'));
  if (!hasSafetensors && ggufs.length > 1) {
    throw new GraftError('BAD_INPUT', `the repo has ${ggufs.length} GGUF files; choose one: ${ggufs.map((g) => g.path).join(', ')}`, { where: 'files' });
  }
  const chosen = hasSafetensors ? wanted.filter((f) => !f.path.endsWith('.gguf')) : wanted;
  if (!chosen.some((f) => f.path.endsWith('.safetensors') || f.path.endsWith('.gguf'))) {
    throw new GraftError('UNSUPPORTED', 'the repo has no .safetensors or .gguf weights Graft can load', { where: 'repo' });
  }
  return chosen;
}

async function hashFile(file: string, kind: 'sha256' | 'git-sha1', size: number): Promise<string> {
  const h = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${size}\0`);
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** Speed over a sliding window of a few seconds, so one slow chunk does not swing the ETA. */
class Meter {
  private samples: { t: number; bytes: number }[] = [];
  add(bytes: number): void {
    const t = Date.now();
    const last = this.samples.at(-1);
    if (last && t - last.t < 100) return;
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > 5000) this.samples.shift();
  }
  /** Bytes found on disk are not transfer speed: start measuring again after them. */
  reset(): void {
    this.samples = [];
  }
  speed(): number {
    const s = this.samples;
    if (s.length < 2) return 0;
    const dt = (s[s.length - 1].t - s[0].t) / 1000;
    return dt > 0 ? (s[s.length - 1].bytes - s[0].bytes) / dt : 0;
  }
}

/** Downloads (or resumes) the repo's files into `dest`; resolves with the files' final paths. */
export async function downloadRepo(o: DownloadOptions): Promise<DownloadResult> {
  const endpoint = (o.endpoint ?? hubEndpoint()).replace(/\/+$/, '');
  const revision = o.revision ?? 'main';
  const files = pickModelFiles(await listRepoFiles(endpoint, o.repo, revision, o.signal), o.files);
  await fsp.mkdir(o.dest, { recursive: true });
  const total = files.reduce((n, f) => n + f.size, 0);
  const meter = new Meter();
  let done = 0;
  let resumedBytes = 0;
  let last = 0;
  const report = (file: string, fileIndex: number, verifying: boolean, force = false) => {
    const now = Date.now();
    if (!force && now - last < (o.progressEveryMs ?? 250)) return;
    last = now;
    const speed = meter.speed();
    o.onProgress?.({ file, fileIndex, fileCount: files.length, bytes: done, total, speed, etaMs: speed > 0 ? ((total - done) / speed) * 1000 : null, resumedBytes, verifying });
  };
  const out: string[] = [];
  const sizeOnly: string[] = [];
  for (const [i, f] of files.entries()) {
    const final = path.join(o.dest, f.path);
    if (path.relative(o.dest, final).startsWith('..')) throw new GraftError('BAD_INPUT', `${f.path}: file name leaves the download folder`);
    const st = await fsp.stat(final).catch(() => null);
    // A file at the final name was verified before it got it, but by an earlier listing (or put there by
    // hand): where a checksum is listed, it is checked again; a mismatch is downloaded afresh.
    if (st?.size === f.size && !(await matchesListing(f, final))) await fsp.rm(final, { force: true });
    else if (st?.size === f.size) {
      if (!f.sha256 && !f.gitOid) sizeOnly.push(f.path);
      done += f.size;
      resumedBytes += f.size;
      out.push(final);
      report(f.path, i, false, true);
      continue;
    }
    const headerSha = await fetchFile(endpoint, o.repo, revision, f, final, {
      signal: o.signal,
      stallMs: o.stallMs ?? DEFAULT_STALL_MS,
      onResume: (n) => {
        resumedBytes += n;
        done += n;
        meter.reset();
      },
      onBytes: (n) => {
        done += n;
        meter.add(done);
        report(f.path, i, false);
      },
    });
    report(f.path, i, true, true);
    // Where the listing carried no checksum, the Hub's resolve response names the LFS SHA-256 in x-linked-etag.
    if (!(await verify(f.sha256 || f.gitOid || !headerSha ? f : { ...f, sha256: headerSha }, final + '.part'))) sizeOnly.push(f.path);
    await fsp.rename(final + '.part', final);
    out.push(final);
    report(f.path, i, false, true);
  }
  return { dir: o.dest, files: out, sizeOnly };
}

/** Whether a file already at its final name has the listed checksum (true where none is listed). */
async function matchesListing(f: HubFile, file: string): Promise<boolean> {
  const [kind, expected] = f.sha256 ? (['sha256', f.sha256] as const) : f.gitOid ? (['git-sha1', f.gitOid] as const) : [null, null];
  return !kind || (await hashFile(file, kind, f.size)) === expected.toLowerCase();
}

async function fetchFile(
  endpoint: string,
  repo: string,
  revision: string,
  f: HubFile,
  final: string,
  cb: { signal?: AbortSignal; stallMs: number; onResume: (n: number) => void; onBytes: (n: number) => void },
): Promise<string | null> {
  // A server that sends nothing for stallMs (headers or body) is given up on, so the download can be resumed.
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(), cb.stallMs);
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), cb.stallMs);
  };
  const signal = cb.signal ? AbortSignal.any([cb.signal, stall.signal]) : stall.signal;
  try {
    return await fetchFileWith({ ...cb, signal, poke }, endpoint, repo, revision, f, final);
  } catch (err) {
    if (stall.signal.aborted && !cb.signal?.aborted) {
      throw new GraftError('IO', `${f.path}: no data from the server for ${+(cb.stallMs / 1000).toFixed(1)} s; start the download again to resume`, { file: f.path, cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function fetchFileWith(
  cb: { signal: AbortSignal; poke: () => void; onResume: (n: number) => void; onBytes: (n: number) => void },
  endpoint: string,
  repo: string,
  revision: string,
  f: HubFile,
  final: string,
): Promise<string | null> {
  const part = final + '.part';
  await fsp.mkdir(path.dirname(part), { recursive: true });
  let have = existsSync(part) ? (await fsp.stat(part)).size : 0;
  if (have > f.size) {
    await fsp.rm(part);
    have = 0;
  }
  if (have === f.size && f.size > 0) {
    cb.onResume(have);
    return null;
  }
  const url = `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${f.path.split('/').map(encodeURIComponent).join('/')}`;
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const get = (u: string) =>
    fetch(u, { signal: cb.signal, headers, redirect: 'manual' }).catch((err: Error) => {
      if (cb.signal.aborted) throw err;
      throw new GraftError('IO', `${f.path}: cannot reach ${new URL(u).origin}: ${err.message}`, { file: f.path, cause: err });
    });
  // Redirects are followed by hand: the Hub's redirect to its file store carries the LFS hash (x-linked-etag).
  let res = await get(url);
  let linked = linkedSha256(res.headers);
  for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get('location'); hops++) {
    if (hops === 5) throw new GraftError('IO', `${f.path}: too many redirects`, { file: f.path });
    const next = new URL(res.headers.get('location')!, url).href;
    await res.body?.cancel();
    res = await get(next);
    linked ??= linkedSha256(res.headers);
  }
  if (res.status === 416 && have > 0) {
    cb.onResume(have); // the part is whole already; the checksum decides
    return null;
  }
  if (!res.ok || !res.body) throw new GraftError(res.status === 404 ? 'NOT_FOUND' : 'IO', `${f.path}: download failed with HTTP ${res.status}`, { file: f.path });
  // A server that ignores Range answers 200 with the whole file: start over.
  const append = have > 0 && res.status === 206 && (res.headers.get('content-range') ?? '').startsWith(`bytes ${have}-`);
  if (append) cb.onResume(have);
  // Never more than the listing says: a bad mirror streaming without end must not fill the disk.
  let received = append ? have : 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, next) {
      cb.poke();
      received += chunk.length;
      if (received > f.size) {
        next(new GraftError('BAD_FILE', `${f.path}: the server sent more than the ${f.size} bytes the listing gives; stopped writing (a bad mirror?)`, { file: f.path }));
        return;
      }
      cb.onBytes(chunk.length);
      next(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), counter, createWriteStream(part, { flags: append ? 'a' : 'w' }), { signal: cb.signal });
  } catch (err) {
    if (err instanceof GraftError) {
      await fsp.rm(part, { force: true });
      throw err;
    }
    if (cb.signal.aborted) throw new GraftError('CANCELLED', `download of ${f.path} was cancelled; start it again to resume`, { file: f.path, cause: err });
    throw new GraftError('IO', `${f.path}: the download broke off (${(err as Error).message}); start it again to resume`, { file: f.path, cause: err });
  }
  return linked;
}

/** The LFS SHA-256 the Hub sends with a file (x-linked-etag on its redirect, or the etag), when it is one. */
function linkedSha256(h: Headers): string | null {
  const v = (h.get('x-linked-etag') ?? h.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  return /^[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : null;
}

/** Checks the part against the listing; false when there was only its size to check. */
async function verify(f: HubFile, part: string): Promise<boolean> {
  const size = (await fsp.stat(part)).size;
  if (size !== f.size) {
    throw new GraftError('BAD_FILE', `${f.path}: got ${size} bytes but the Hub lists ${f.size}; start the download again to resume`, { file: f.path });
  }
  const [kind, expected] = f.sha256 ? (['sha256', f.sha256] as const) : f.gitOid ? (['git-sha1', f.gitOid] as const) : [null, null];
  if (!kind) return false;
  const got = await hashFile(part, kind, size);
  if (got !== expected.toLowerCase()) {
    await fsp.rm(part, { force: true });
    throw new GraftError(
      'BAD_FILE',
      `${f.path}: checksum mismatch — the Hub lists ${kind === 'sha256' ? 'SHA-256' : 'git SHA-1'} ${expected} but the downloaded file has ${got}; ` +
        'the damaged file was removed, start the download again',
      { file: f.path, where: kind },
    );
  }
  return true;
}
