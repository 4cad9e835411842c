/**
 * The browser host: serves the built renderer on loopback and carries `window.graft` (invoke + subscribe)
 * over a WebSocket to the same handler table Electron uses. Guarded by a per-launch token, the Host header
 * and the Origin header, so neither another site in the user's browser nor another machine can drive it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HandlerTable } from '../ipc/contract';
import { isStreamName } from '../ipc/define';
import { dispatch } from '../ipc/dispatch';
import { MAX_MESSAGE_BYTES, WS_PATH, WS_PROTOCOL, tokenFromProtocols, type ClientMessage, type ServerMessage } from '../ipc/wire';
import type { EventHub } from '../services/events';
import { confinement, confineTable } from './confine';
import { DOWNLOAD_PATH, Downloads } from './downloads';
import { PartAssembler } from './parts';
import { transferHandlers } from './transfers';
import { Uploads } from './uploads';
import { checkRequest, newToken, tokenMatches } from './guard';
import { serveStatic } from './static';

export interface HostOptions {
  /** Folder of the built renderer (index.html + assets). */
  rendererDir: string;
  handlers: HandlerTable;
  events: EventHub;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  /** Folders whose files the page may name (default: the user's home); system folders are refused. */
  allowedRoots?: string[];
  /** Files of the app's own the page may name outside those folders (the bundled demo model). */
  allowedFiles?: string[];
  /** Where browser uploads are written (a folder of the app's data folder); without it, uploads are refused. */
  uploadDir?: string;
}

export interface RunningHost {
  port: number;
  token: string;
  origin: string;
  /** What to open in a browser: carries the token. */
  url: string;
  close(): Promise<void>;
}

function securityHeaders(port: number): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    // The page's URL holds the token: never send it anywhere as a referrer.
    'referrer-policy': 'no-referrer',
  };
}

export async function startHost(opts: HostOptions): Promise<RunningHost> {
  const token = opts.token ?? newToken();
  // The token is one layer; paths the page names are confined to the chosen folders as a second.
  const confined = confinement(opts.allowedRoots, undefined, opts.allowedFiles);
  const downloads = new Downloads();
  // A finished upload is a path the page may name (to import it), until it is discarded.
  const uploads = opts.uploadDir ? new Uploads(opts.uploadDir, (p, allowed) => (confined.files = allowed ? [...confined.files, p] : confined.files.filter((f) => f !== p))) : null;
  const handlers = confineTable({ ...opts.handlers, ...transferHandlers(downloads, uploads) }, confined);
  let port = 0;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  // An emitter's unhandled 'error' ends the process, and with it a training job in the worker: every socket,
  // stream and server here gets a handler, so one bad client can only lose its own connection.
  wss.on('error', (err) => console.error(`graft serve: WebSocket server: ${err.message}`));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers = securityHeaders(port);
    const refusal = checkRequest(req, port, false);
    if (refusal) {
      res.writeHead(refusal.status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(refusal.reason);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (pathname.startsWith(DOWNLOAD_PATH) && req.method === 'GET') {
      void downloads.serve(pathname.slice(DOWNLOAD_PATH.length), res, headers);
      return;
    }
    serveStatic(opts.rendererDir, pathname, res, headers).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500).end(err.message);
      else res.destroy(err);
    });
  });

  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    let refusal = url.pathname === WS_PATH ? checkRequest(req, port, true) : { status: 403 as const, reason: 'no such endpoint' };
    if (!refusal && !tokenMatches(token, tokenFromProtocols(req.headers['sec-websocket-protocol']))) refusal = { status: 401, reason: 'missing or wrong token' };
    if (refusal) {
      const text = refusal.status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(`HTTP/1.1 ${refusal.status} ${text}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${refusal.reason}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, handlers, opts.events));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    port,
    token,
    origin,
    url: `${origin}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        uploads?.close();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One renderer's connection: requests in, results and subscribed events out. */
function serveSocket(ws: WebSocket, handlers: HandlerTable, events: EventHub): void {
  const subscriptions = new Map<string, () => void>();
  const send = (msg: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  // A frame over the size limit (1009) or a text frame of invalid UTF-8 (1007): ws has already begun closing
  // the socket with that code; the handler keeps the error from reaching the process.
  ws.on('error', () => ws.terminate());

  const parts = new PartAssembler();
  const parse = (text: string): ClientMessage | null => {
    try {
      const msg = JSON.parse(text) as ClientMessage;
      if (typeof msg !== 'object' || msg === null) throw new TypeError('not an object');
      return msg;
    } catch {
      ws.close(1003, 'messages must be JSON objects');
      return null;
    }
  };

  ws.on('message', async (data) => {
    let msg = parse(data.toString());
    if (!msg) return;
    if (msg.type === 'part') {
      // A big invoke in parts: held (bounded) until its last part, then handled as if sent whole.
      const r = parts.add(msg.id, msg.data, msg.last);
      if ('refused' in r) ws.close(1009, r.refused);
      if (!('whole' in r)) return;
      msg = parse(r.whole);
      if (!msg) return;
      if (msg.type !== 'invoke') {
        ws.close(1003, 'only an invoke may be sent in parts');
        return;
      }
    }
    if (msg.type === 'invoke' && Number.isInteger(msg.id)) {
      send({ type: 'result', id: msg.id, result: await dispatch(handlers, msg.channel, msg.req, { shell: 'browser' }) });
    } else if (msg.type === 'subscribe' && isStreamName(msg.stream) && !subscriptions.has(msg.stream)) {
      const stream = msg.stream;
      subscriptions.set(
        stream,
        events.on(stream, (event) => send({ type: 'event', stream, event })),
      );
    } else if (msg.type === 'unsubscribe') {
      subscriptions.get(msg.stream)?.();
      subscriptions.delete(msg.stream);
    }
  });
  ws.on('close', () => {
    for (const off of subscriptions.values()) off();
    subscriptions.clear();
  });
}
