/**
 * Browser downloads of the host's files (an export): the page asks over its token-guarded socket
 * (`app.download`, with the path confined like every other), and gets a same-origin URL that serves that one
 * file or folder once, within a few minutes. The token itself never goes into a URL; the URL is worth one
 * download of a file the page could already name.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { GraftError } from '../engine/errors';
import type { DownloadOffer } from '../ipc/app';
import { archiveKind, folderFiles, streamTar, streamZip, writer, type FolderFile } from './archive';

export const DOWNLOAD_PATH = '/graft-download/';
/** How long an offered URL stays good. */
const OFFER_MS = 5 * 60_000;

interface Offer {
  path: string;
  name: string;
  archive: DownloadOffer['archive'];
  files: FolderFile[];
  bytes: number;
  expires: number;
}

export class Downloads {
  private readonly offers = new Map<string, Offer>();

  constructor(private readonly now: () => number = Date.now) {}

  /** `p` is already confined (confine.ts) and resolved. */
  async offer(p: string): Promise<DownloadOffer> {
    const st = await fsp.stat(p).catch(() => null);
    if (!st) throw new GraftError('NOT_FOUND', `${p}: no such file or folder`, { file: p, where: 'path' });
    let files: FolderFile[] = [];
    let archive: DownloadOffer['archive'] = 'none';
    let bytes = st.size;
    if (st.isDirectory()) {
      files = await folderFiles(p);
      if (!files.length) throw new GraftError('NOT_FOUND', `${p}: the folder holds no files to download`, { file: p, where: 'path' });
      archive = archiveKind(files);
      bytes = files.reduce((s, f) => s + f.bytes, 0);
    } else if (!st.isFile()) {
      throw new GraftError('BAD_INPUT', `${p}: not a file or a folder`, { file: p, where: 'path' });
    }
    this.sweep();
    const id = randomBytes(24).toString('base64url');
    const name = path.basename(p) + (archive === 'none' ? '' : `.${archive}`);
    this.offers.set(id, { path: p, name, archive, files, bytes, expires: this.now() + OFFER_MS });
    return { url: `${DOWNLOAD_PATH}${id}`, name, archive, bytes };
  }

  /** Serves GET /graft-download/<id>: once, while fresh; anything else is a 404 that says nothing more. */
  async serve(id: string, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    this.sweep();
    const o = this.offers.get(id);
    this.offers.delete(id);
    if (!o) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('no such download (each link works once, for 5 minutes)');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-type': o.archive === 'zip' ? 'application/zip' : o.archive === 'tar' ? 'application/x-tar' : 'application/octet-stream',
      'content-disposition': `attachment; filename="${o.name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(o.name)}`,
      'cache-control': 'no-store',
      ...(o.archive === 'none' ? { 'content-length': String(o.bytes) } : {}),
    });
    try {
      if (o.archive === 'zip') await streamZip(o.files, res);
      else if (o.archive === 'tar') await streamTar(o.files, res);
      else {
        const write = writer(res);
        for await (const piece of createReadStream(o.path, { highWaterMark: 1 << 22 })) await write(piece as Buffer);
      }
      res.end();
    } catch (err) {
      // Headers are gone: cutting the connection is how the browser learns the download failed.
      res.destroy(err as Error);
    }
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, o] of this.offers) if (o.expires <= t) this.offers.delete(id);
  }
}
