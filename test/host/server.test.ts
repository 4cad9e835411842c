import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHandlers } from '../../src-main/ipc/handlers';
import { WS_PATH, tokenProtocols, type ServerMessage } from '../../src-main/ipc/wire';
import { startHost, type RunningHost } from '../../src-main/host/server';
import { createServices, type Services } from '../../src-main/services/index';

let host: RunningHost;
let services: Services;
let rendererDir: string;

beforeAll(async () => {
  rendererDir = mkdtempSync(path.join(os.tmpdir(), 'graft-host-'));
  mkdirSync(path.join(rendererDir, 'assets'));
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>graft test</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  services = createServices({ name: 'graft', version: '9.9.9', platform: process.platform });
  host = await startHost({ rendererDir, port: 0, handlers: createHandlers(services), events: services.events });
});

afterAll(async () => {
  await host?.close();
  await services?.dispose();
});

/** Raw request, so Host and Origin can be set to anything and paths are not normalised. */
function rawGet(
  urlPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: urlPath, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Opens a socket, offering the token as the page does (in Sec-WebSocket-Protocol) and `query` on the URL;
 * resolves with the socket, or with the HTTP status the server refused it with.
 */
function connect(token: string | null, origin?: string, query = ''): Promise<{ ws?: WebSocket; refused?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}${WS_PATH}${query}`, token === null ? [] : tokenProtocols(token), origin ? { origin } : {});
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ refused: res.statusCode }));
    ws.on('error', reject);
  });
}

class Peer {
  private nextId = 1;
  readonly events: ServerMessage[] = [];
  private waiting = new Map<number, (m: ServerMessage) => void>();
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as ServerMessage;
      if (m.type === 'result') this.waiting.get(m.id)?.(m);
      else this.events.push(m);
    });
  }
  invoke(channel: string, req?: unknown): Promise<ServerMessage> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ type: 'invoke', id, channel, req }));
    });
  }
}

describe('browser host: HTTP', () => {
  it('binds to loopback and prints a URL holding the token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('serves the renderer with a strict CSP and no referrer', async () => {
    const res = await rawGet('/', { host: `127.0.0.1:${host.port}` });
    expect(res.status).toBe(200);
    expect(res.body).toContain('graft test');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const js = await rawGet('/assets/app.js', { host: `localhost:${host.port}` });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('refuses a request from another origin', async () => {
    const res = await rawGet('/', { host: `127.0.0.1:${host.port}`, origin: 'http://evil.example' });
    expect(res.status).toBe(403);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const res = await rawGet('/', { host: `evil.example:${host.port}` });
    expect(res.status).toBe(403);
  });

  it('does not serve files outside the renderer folder', async () => {
    const res = await rawGet('/..%2f..%2f..%2fetc%2fpasswd', { host: `127.0.0.1:${host.port}` });
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('root:');
  });
});

describe('browser host: WebSocket', () => {
  it('refuses a socket without the token', async () => {
    expect((await connect(null, host.origin)).refused).toBe(401);
  });

  it('takes the token only from the Sec-WebSocket-Protocol header, never from the URL', async () => {
    expect((await connect(null, host.origin, `?token=${host.token}`)).refused).toBe(401);
    const { ws } = await connect(host.token, host.origin);
    expect(ws!.protocol).toBe('graft');
    ws!.close();
  });

  it('refuses a socket with a wrong token', async () => {
    // the last character changed to another one (a token that ends in 'x' stays wrong)
    const wrong = `${host.token.slice(0, -1)}${host.token.endsWith('x') ? 'y' : 'x'}`;
    expect(wrong).not.toBe(host.token);
    expect((await connect(wrong, host.origin)).refused).toBe(401);
  });

  it('refuses a socket from another origin, even with the token', async () => {
    expect((await connect(host.token, 'http://evil.example')).refused).toBe(403);
    expect((await connect(host.token)).refused).toBe(403);
  });

  it('answers requests from the handler table, errors as values', async () => {
    const { ws } = await connect(host.token, host.origin);
    const peer = new Peer(ws!);
    const info = await peer.invoke('app.info');
    expect(info).toMatchObject({ type: 'result', result: { ok: true, value: { name: 'graft', version: '9.9.9', shell: 'browser' } } });
    const unknown = await peer.invoke('engine.nope');
    expect(unknown).toMatchObject({ result: { ok: false, error: { code: 'NOT_FOUND' } } });
    const bad = await peer.invoke('engine.device', { pref: 'tpu' });
    expect(bad).toMatchObject({ result: { ok: false, error: { code: 'BAD_INPUT', where: 'pref' } } });
    ws!.close();
  });

  it('refuses a path outside the served folders (a dataset import of /etc/passwd) before any handler sees it', async () => {
    const { ws } = await connect(host.token, host.origin);
    const peer = new Peer(ws!);
    const res = await peer.invoke('datasets.import', { name: 'passwd', path: '/etc/passwd' });
    expect(res).toMatchObject({ result: { ok: false, error: { code: 'BAD_INPUT', where: 'path' } } });
    expect(JSON.stringify(res)).not.toContain('root:');
    ws!.close();
  });

  it('runs engine.device on the engine worker and returns the CPU it found', async () => {
    const { ws } = await connect(host.token, host.origin);
    const peer = new Peer(ws!);
    const res = await peer.invoke('engine.device', { pref: 'cpu' });
    expect(res).toMatchObject({ result: { ok: true, value: { kind: 'cpu', ep: 'cpu' } } });
    const value = (res as { result: { value: { name: string } } }).result.value;
    expect(value.name).toContain(os.cpus()[0].model.trim());
    ws!.close();
  });

  it('delivers subscribed events until unsubscribed', async () => {
    const { ws } = await connect(host.token, host.origin);
    const peer = new Peer(ws!);
    const before = services.events.listenerCount('engine.status');
    ws!.send(JSON.stringify({ type: 'subscribe', stream: 'engine.status' }));
    ws!.send(JSON.stringify({ type: 'subscribe', stream: 'no.such.stream' }));
    await peer.invoke('app.info'); // a round trip: the subscription is in place after it
    expect(services.events.listenerCount('engine.status')).toBe(before + 1);
    services.events.emit('engine.status', { state: 'crashed', detail: 'test event' });
    await peer.invoke('app.info');
    expect(peer.events).toEqual([{ type: 'event', stream: 'engine.status', event: { state: 'crashed', detail: 'test event' } }]);
    ws!.send(JSON.stringify({ type: 'unsubscribe', stream: 'engine.status' }));
    await peer.invoke('app.info');
    expect(services.events.listenerCount('engine.status')).toBe(before);
    services.events.emit('engine.status', { state: 'ready' });
    await peer.invoke('app.info');
    expect(peer.events).toHaveLength(1);
    ws!.close();
  });

  it("drops a closed socket's subscriptions", async () => {
    const { ws } = await connect(host.token, host.origin);
    const peer = new Peer(ws!);
    const before = services.events.listenerCount('engine.status');
    ws!.send(JSON.stringify({ type: 'subscribe', stream: 'engine.status' }));
    await peer.invoke('app.info');
    expect(services.events.listenerCount('engine.status')).toBe(before + 1);
    await new Promise<void>((r) => {
      ws!.on('close', () => r());
      ws!.close();
    });
    await expect.poll(() => services.events.listenerCount('engine.status')).toBe(before);
  });
});

describe('browser host: hostile frames', () => {
  /** Sends one frame, waits for the server to close the socket, and returns the close code. */
  async function closedBy(send: (ws: WebSocket) => void): Promise<number> {
    const { ws } = await connect(host.token, host.origin);
    const code = new Promise<number>((resolve) => ws!.on('close', (c) => resolve(c)));
    ws!.on('error', () => {}); // the client may see the reset; only the server's survival matters here
    send(ws!);
    return code;
  }

  async function stillServes(): Promise<void> {
    const { ws } = await connect(host.token, host.origin);
    const info = await new Peer(ws!).invoke('app.info');
    expect(info).toMatchObject({ result: { ok: true } });
    ws!.close();
  }

  it('closes a socket that sends a frame over the size limit, and keeps serving', async () => {
    const code = await closedBy((ws) => ws.send(Buffer.alloc(16 * 1024 * 1024 + 1, 0x20), { binary: false }));
    expect(code).toBe(1009);
    await stillServes();
  });

  it('closes a socket that sends a text frame of invalid UTF-8, and keeps serving', async () => {
    const code = await closedBy((ws) => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }));
    expect(code).toBe(1007);
    await stillServes();
  });

  it('answers a malformed message without ending the server', async () => {
    const code = await closedBy((ws) => ws.send('{"type":'));
    expect(code).toBe(1003);
    await stillServes();
  });
});
