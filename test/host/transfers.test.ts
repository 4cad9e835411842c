/**
 * Issue 18 item 6: browser downloads and uploads over the host's token-guarded socket. A download is offered
 * over the socket and served once by a same-origin URL (a folder as a zip, or a tar when too big for one);
 * an upload comes in pieces written to disk, and its path becomes one the page may name until discarded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { folderFiles, streamTar } from '../../src-main/host/archive';
import { startHost, type RunningHost } from '../../src-main/host/server';
import { createHandlers } from '../../src-main/ipc/handlers';
import { dispatch } from '../../src-main/ipc/dispatch';
import { WS_PATH, tokenProtocols, type ServerMessage } from '../../src-main/ipc/wire';
import { createServices, type Services } from '../../src-main/services/index';

let host: RunningHost;
let services: Services;
let root: string;
let ws: WebSocket;
let nextId = 1;

function invoke(channel: string, req?: unknown): Promise<{ ok: boolean; value?: any; error?: any }> {
  const id = nextId++;
  return new Promise((resolve) => {
    const onMessage = (d: WebSocket.RawData) => {
      const m = JSON.parse(d.toString()) as ServerMessage;
      if (m.type === 'result' && m.id === id) {
        ws.off('message', onMessage);
        resolve(m.result as never);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'invoke', id, channel, req }));
  });
}

function get(urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: host.port, path: urlPath }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'graft-transfers-'));
  const rendererDir = path.join(root, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  mkdirSync(path.join(root, 'home', 'exports', 'peft', 'sub'), { recursive: true });
  services = createServices({ name: 'graft', version: '9.9.9', platform: process.platform });
  host = await startHost({ rendererDir, port: 0, handlers: createHandlers(services), events: services.events, allowedRoots: [path.join(root, 'home')], uploadDir: path.join(root, 'data', 'uploads') });
  ws = await new Promise((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${host.port}${WS_PATH}`, tokenProtocols(host.token), { origin: host.origin });
    s.on('open', () => resolve(s));
    s.on('error', reject);
  });
});

afterAll(async () => {
  ws?.close();
  await host?.close();
  await services?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('browser downloads', () => {
  it('serves an offered file once, byte for byte, as an attachment', async () => {
    const file = path.join(root, 'home', 'exports', 'adapter.gguf');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    writeFileSync(file, bytes);
    const r = await invoke('app.download', { path: file });
    expect(r.ok).toBe(true);
    expect(r.value).toMatchObject({ name: 'adapter.gguf', archive: 'none', bytes: bytes.length });
    const got = await get(r.value.url);
    expect(got.status).toBe(200);
    expect(got.headers['content-disposition']).toContain('attachment; filename="adapter.gguf"');
    expect(got.body.equals(bytes)).toBe(true);
    // Once only, and a made-up link is nothing.
    expect((await get(r.value.url)).status).toBe(404);
    expect((await get('/graft-download/made-up')).status).toBe(404);
  });

  it('serves a folder as a zip of its files', async () => {
    const dir = path.join(root, 'home', 'exports', 'peft');
    writeFileSync(path.join(dir, 'adapter_config.json'), '{"r": 8}');
    writeFileSync(path.join(dir, 'sub', 'weights.bin'), Buffer.alloc(70_000, 3));
    const r = await invoke('app.download', { path: dir });
    expect(r.value).toMatchObject({ name: 'peft.zip', archive: 'zip', bytes: 70_008 });
    const entries = unzipSync(new Uint8Array((await get(r.value.url)).body));
    expect(Object.keys(entries).sort()).toEqual(['peft/adapter_config.json', 'peft/sub/weights.bin']);
    expect(Buffer.from(entries['peft/adapter_config.json']).toString()).toBe('{"r": 8}');
    expect(Buffer.from(entries['peft/sub/weights.bin']).equals(Buffer.alloc(70_000, 3))).toBe(true);
  });

  it.skipIf(spawnSync('tar', ['--version']).status !== 0)('writes a tar that tar reads back, long names included (needs a tar binary)', async () => {
    const dir = path.join(root, 'home', 'tar-src');
    const long = 'a'.repeat(120);
    mkdirSync(path.join(dir, long), { recursive: true });
    writeFileSync(path.join(dir, long, 'model.safetensors'), Buffer.alloc(1000, 9));
    writeFileSync(path.join(dir, 'config.json'), '{}');
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await streamTar(await folderFiles(dir), out);
    const tarFile = path.join(root, 'out.tar');
    writeFileSync(tarFile, Buffer.concat(chunks));
    const into = path.join(root, 'untar');
    mkdirSync(into);
    const r = spawnSync('tar', ['-xf', tarFile, '-C', into], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path.join(into, 'tar-src', long, 'model.safetensors')).equals(Buffer.alloc(1000, 9))).toBe(true);
    expect(readFileSync(path.join(into, 'tar-src', 'config.json'), 'utf8')).toBe('{}');
  });

  it('refuses a path outside the served folders, and a missing one', async () => {
    const outside = await invoke('app.download', { path: '/etc/hostname' });
    expect(outside.error).toMatchObject({ code: 'BAD_INPUT', where: 'path' });
    const missing = await invoke('app.download', { path: path.join(root, 'home', 'nope') });
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND', where: 'path' });
  });

  it('is refused without the token: the socket does not open, so nothing can be offered', async () => {
    const refused = await new Promise<number | undefined>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${host.port}${WS_PATH}`, [], { origin: host.origin });
      s.on('open', () => resolve(undefined));
      s.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      s.on('error', reject);
    });
    expect(refused).toBe(401);
  });

  it('is refused by the desktop app, whose dialogs write where the user says', async () => {
    const r = await dispatch(createHandlers(services), 'app.download', { path: '/tmp/x' }, { shell: 'electron' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED', where: 'app.download' } });
  });
});

describe('browser uploads', () => {
  const config = Buffer.from('{"r": 4, "peft_type": "LORA"}');
  const weights = Buffer.alloc(9_000_000, 5);
  const b64 = (b: Buffer) => b.toString('base64');

  it('writes the pieces to disk in order, and makes the finished upload a path the page may name', async () => {
    const start = await invoke('app.uploadStart', { files: [{ name: 'my-adapter/adapter_config.json', bytes: config.length }, { name: 'my-adapter/adapter_model.safetensors', bytes: weights.length }] });
    expect(start.ok).toBe(true);
    const uploadId = start.value.uploadId as string;
    expect((await invoke('app.uploadChunk', { uploadId, index: 0, offset: 0, data: b64(config) })).value).toEqual({ received: config.length });
    // Out of order is refused, naming the offset expected.
    const skipped = await invoke('app.uploadChunk', { uploadId, index: 1, offset: 4 << 20, data: b64(weights.subarray(0, 10)) });
    expect(skipped.error).toMatchObject({ code: 'BAD_INPUT', where: 'offset' });
    expect(skipped.error.message).toContain('expected the piece at byte 0');
    // Not yet whole: finishing says which file is short.
    expect((await invoke('app.uploadFinish', { uploadId })).error.message).toMatch(/adapter_model\.safetensors: 0 of 9000000 bytes arrived/);
    for (let at = 0; at < weights.length; at += 4 << 20) {
      const r = await invoke('app.uploadChunk', { uploadId, index: 1, offset: at, data: b64(weights.subarray(at, at + (4 << 20))) });
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
    }
    const done = await invoke('app.uploadFinish', { uploadId });
    expect(done.value.path).toMatch(/uploads\/[\w-]+\/my-adapter$/);
    expect(readFileSync(path.join(done.value.path, 'adapter_model.safetensors')).equals(weights)).toBe(true);
    // The page may now name it (outside the served folders otherwise)...
    expect((await invoke('app.download', { path: done.value.path })).ok).toBe(true);
    // ...until it is discarded: then it is gone and refused again.
    expect((await invoke('app.uploadDiscard', { uploadId })).ok).toBe(true);
    expect(existsSync(done.value.path)).toBe(false);
    expect((await invoke('app.download', { path: done.value.path })).error).toMatchObject({ code: 'BAD_INPUT', where: 'path' });
  });

  it('refuses names that leave the upload, duplicates, and pieces past the declared size', async () => {
    for (const name of ['../x', '/etc/passwd', 'a//b', 'a\\b', 'C:x']) {
      const r = await invoke('app.uploadStart', { files: [{ name, bytes: 1 }] });
      expect(r.error, name).toMatchObject({ code: 'BAD_INPUT', where: 'files[0].name' });
    }
    expect((await invoke('app.uploadStart', { files: [{ name: 'a', bytes: 1 }, { name: 'a', bytes: 1 }] })).error).toMatchObject({ where: 'files[1].name' });
    expect((await invoke('app.uploadStart', { files: [{ name: 'a', bytes: 1 }, { name: 'a/b', bytes: 1 }] })).error).toMatchObject({ where: 'files' });
    const { value } = await invoke('app.uploadStart', { files: [{ name: 'one.zip', bytes: 2 }] });
    const over = await invoke('app.uploadChunk', { uploadId: value.uploadId, index: 0, offset: 0, data: b64(Buffer.from('abc')) });
    expect(over.error).toMatchObject({ code: 'BAD_INPUT', where: 'data' });
    await invoke('app.uploadChunk', { uploadId: value.uploadId, index: 0, offset: 0, data: b64(Buffer.from('ab')) });
    // A single file is its own path.
    expect((await invoke('app.uploadFinish', { uploadId: value.uploadId })).value.path).toMatch(/one\.zip$/);
    expect((await invoke('app.uploadChunk', { uploadId: 'nope', index: 0, offset: 0, data: '' })).error).toMatchObject({ code: 'NOT_FOUND', where: 'uploadId' });
  });
});
