/**
 * A local HTTP server standing in for the Hugging Face Hub: the tree API and `resolve` URLs with Range support,
 * plus the faults the download must survive (a connection that breaks mid-file, a checksum that does not match).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export interface FakeHub {
  endpoint: string;
  /** repo -> file path -> content; files over 1 KiB are published as LFS files (SHA-256), the rest as git blobs. */
  repos: Record<string, Record<string, Buffer>>;
  /** Break the connection after this many bytes of the next response for this file path. */
  breakAfter: { file: string; bytes: number } | null;
  /** Publish this SHA-256 for every LFS file instead of the real one. */
  wrongOid: string | null;
  /** Range headers of every `resolve` request, in order: [file, range]. */
  requests: [string, string | undefined][];
  /** False: answer only the older model-info API (`/api/models/{repo}/revision/main?blobs=true` siblings). */
  treeApi: boolean;
  /** True: list files without checksums and send the SHA-256 as x-linked-etag on the file response instead. */
  hashInHeader: boolean;
  /** Slow responses down (bytes per 10 ms chunk), so progress events are many. */
  throttle: number | null;
  /** Send this many bytes more than the file holds (a bad mirror), with no content-length. */
  extraBytes: number;
  /** For this file path: send the headers and 1 KiB, then nothing, keeping the connection open. */
  stall: string | null;
  /** List files with sizes only: no checksum in the listing nor in the headers. */
  noHashes: boolean;
  close(): Promise<void>;
}

export async function startFakeHub(repos: FakeHub['repos']): Promise<FakeHub> {
  const hub = { repos, breakAfter: null, wrongOid: null, requests: [], throttle: null, treeApi: true, hashInHeader: false, extraBytes: 0, stall: null, noHashes: false } as unknown as FakeHub;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main$/.exec(url.pathname);
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/main$/.exec(url.pathname);
    if (info && url.searchParams.get('blobs') === 'true') {
      const files = hub.repos[info[1]];
      if (!files) return void res.writeHead(404).end();
      res.setHeader('content-type', 'application/json');
      const siblings = Object.entries(files).map(([p, b]) =>
        b.length > 1024 ? { rfilename: p, size: b.length, blobId: 'x', lfs: { sha256: hub.wrongOid ?? sha256(b), size: b.length } } : { rfilename: p, size: b.length, blobId: gitSha1(b) },
      );
      res.end(JSON.stringify({ id: info[1], siblings }));
      return;
    }
    if (tree) {
      const files = hub.treeApi ? hub.repos[tree[1]] : undefined;
      if (!files) return void res.writeHead(404).end('{"error":"Repository not found"}');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          Object.entries(files).map(([p, b]) =>
            hub.hashInHeader || hub.noHashes
              ? { type: 'file', path: p, size: b.length }
              : b.length > 1024
                ? { type: 'file', path: p, size: b.length, oid: gitSha1(Buffer.from('pointer')), lfs: { oid: hub.wrongOid ?? sha256(b), size: b.length } }
                : { type: 'file', path: p, size: b.length, oid: gitSha1(b) },
          ),
        ),
      );
      return;
    }
    // Like the Hub: resolve URLs redirect to a file store, the hash of LFS files on the redirect.
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    if (resolve) {
      const b = hub.repos[resolve[1]]?.[decodeURIComponent(resolve[2])];
      if (!b) return void res.writeHead(404).end();
      const linked = hub.hashInHeader ? { 'x-linked-etag': `"${hub.wrongOid ?? sha256(b)}"` } : {};
      res.writeHead(302, { location: `/store/${resolve[1]}/${resolve[2]}`, ...linked }).end();
      return;
    }
    const m = /^\/store\/([^/]+\/[^/]+)\/(.+)$/.exec(url.pathname);
    const file = m ? decodeURIComponent(m[2]) : '';
    const body = m ? hub.repos[m[1]]?.[file] : undefined;
    if (!body) return void res.writeHead(404).end();
    const range = req.headers.range;
    hub.requests.push([file, range]);
    if (hub.stall === file) {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1024));
      return; // and nothing more: the client must give up by itself
    }
    if (hub.extraBytes) {
      res.writeHead(200);
      res.write(body);
      res.end(Buffer.alloc(hub.extraBytes, 0x41));
      return;
    }
    let start = 0;
    if (range) {
      start = Number(/^bytes=(\d+)-$/.exec(range)![1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    let part = body.subarray(start);
    let cut: number | null = null;
    if (hub.breakAfter?.file === file) {
      cut = hub.breakAfter.bytes;
      hub.breakAfter = null;
      part = part.subarray(0, cut);
    }
    const finish = () => (cut === null ? res.end() : setTimeout(() => res.destroy(), 30));
    if (!hub.throttle) {
      res.write(part, finish);
      return;
    }
    let off = 0;
    const step = hub.throttle;
    const pump = () => {
      if (res.destroyed) return;
      if (off >= part.length) return finish();
      res.write(part.subarray(off, (off += step)));
      setTimeout(pump, 10);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  hub.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return hub;
}
