/**
 * Issue 15, item 1: a dataset over one frame's limit (16 MiB), dropped on the Datasets screen of the browser
 * host, goes over the token-guarded socket in parts (wire.ts splitMessage, as the page's bridge sends it) and is
 * imported whole; parts past what the host will hold close only that socket, and the host keeps serving.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHost, type RunningHost } from '../../src-main/host/server';
import { createHandlers } from '../../src-main/ipc/handlers';
import { MAX_ASSEMBLED_BYTES, MAX_MESSAGE_BYTES, PART_CHARS, WS_PATH, splitMessage, tokenProtocols, type ServerMessage } from '../../src-main/ipc/wire';
import { createServices, type Services } from '../../src-main/services/index';

let host: RunningHost;
let services: Services;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'graft-parts-'));
  const rendererDir = path.join(root, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>graft test</title>');
  services = createServices({ name: 'graft', version: '9.9.9', platform: process.platform }, { dir: path.join(root, 'data') });
  host = await startHost({ rendererDir, port: 0, handlers: createHandlers(services), events: services.events, allowedRoots: [root] });
});

afterAll(async () => {
  await host?.close();
  await services?.dispose();
  rmSync(root, { recursive: true, force: true });
});

function connect(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}${WS_PATH}`, tokenProtocols(host.token), { origin: host.origin, maxPayload: MAX_MESSAGE_BYTES });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

/** Sends an invoke as the page's bridge does (whole, or in parts) and resolves with its result. */
function invoke(ws: WebSocket, id: number, channel: string, req: unknown): Promise<ServerMessage> {
  const text = JSON.stringify({ type: 'invoke', id, channel, req });
  return new Promise((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as ServerMessage;
      if (m.type === 'result' && m.id === id) resolve(m);
    });
    for (const frame of splitMessage(text, id, Buffer.byteLength(text))) ws.send(frame);
  });
}

/** A JSONL dataset of `rows` chat rows, with multi-byte text and an emoji (a surrogate pair a part may split). */
function bigDataset(rows: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: `question ${i}: é ü 🙂 ${'x'.repeat(200)}` }, { role: 'assistant', content: `answer ${i}` }] }));
  }
  return lines.join('\n') + '\n';
}

describe('browser host: big messages in parts', () => {
  it('a dataset over 16 MiB is imported whole, in parts, and the socket keeps serving', async () => {
    const content = bigDataset(70_000);
    const bytes = Buffer.byteLength(content);
    expect(bytes).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const frames = splitMessage(JSON.stringify({ type: 'invoke', id: 1, channel: 'datasets.import', req: { name: 'big.jsonl', content } }), 1, bytes + 100);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);

    const ws = await connect();
    const r = await invoke(ws, 1, 'datasets.import', { name: 'big.jsonl', content });
    expect(r).toMatchObject({ type: 'result', result: { ok: true } });
    const entry = (r as { result: { value: { path: string; sizeBytes: number } } }).result.value;
    expect(entry.sizeBytes).toBe(bytes);
    expect(readFileSync(entry.path, 'utf8') === content).toBe(true);
    // The same socket answers the next call.
    expect(await invoke(ws, 2, 'app.info', undefined)).toMatchObject({ result: { ok: true } });
    ws.close();
  }, 60_000);

  it('parts past what the host holds close that socket with 1009, and the host keeps serving', async () => {
    const ws = await connect();
    const closed = new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    ws.on('error', () => {});
    const part = 'x'.repeat(PART_CHARS);
    const n = Math.ceil(MAX_ASSEMBLED_BYTES / (3 * PART_CHARS)) + 1;
    for (let i = 0; i < n && ws.readyState === ws.OPEN; i++) ws.send(JSON.stringify({ type: 'part', id: 9, data: part, last: false }));
    expect(await closed).toBe(1009);
    const again = await connect();
    expect(await invoke(again, 1, 'app.info', undefined)).toMatchObject({ result: { ok: true } });
    again.close();
  }, 60_000);

  it('a part that completes something other than an invoke closes the socket with 1003', async () => {
    const ws = await connect();
    const closed = new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    ws.send(JSON.stringify({ type: 'part', id: 3, data: JSON.stringify({ type: 'part', id: 4, data: '', last: true }), last: true }));
    expect(await closed).toBe(1003);
  });
});
