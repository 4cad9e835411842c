import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineStatus } from '../../src-main/ipc/contract';
import { WorkerClient } from '../../src-main/services/worker/client';
import { EventHub } from '../../src-main/services/events';

let client: WorkerClient | undefined;
afterEach(async () => {
  await client?.stop();
});

describe('WorkerClient', () => {
  it('starts the worker on first use, streams its status and answers from it', async () => {
    const events = new EventHub();
    const seen: EngineStatus[] = [];
    events.on('engine.status', (s) => seen.push(s));
    client = new WorkerClient(events);
    expect(client.status.state).toBe('stopped');
    const device = await client.call('device', 'cpu');
    expect(device).toEqual({ kind: 'cpu', ep: 'cpu', name: expect.stringContaining(os.cpus()[0].model.trim()) });
    expect(seen.map((s) => s.state)).toEqual(['starting', 'ready']);
    await client.stop();
    expect(client.status.state).toBe('stopped');
    // A call after stop starts a fresh worker.
    await expect(client.call('device', 'cpu')).resolves.toMatchObject({ kind: 'cpu' });
    expect(seen.map((s) => s.state)).toEqual(['starting', 'ready', 'stopped', 'starting', 'ready']);
  });

  it('reports an unknown engine method as NOT_FOUND from the worker', async () => {
    client = new WorkerClient(new EventHub());
    // Bypass the typed surface to send what an out-of-date caller might.
    const call = client.call.bind(client) as (m: string, p: unknown) => Promise<unknown>;
    await expect(call('nope', null)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'The engine has no method "nope"' });
  });

  it('reports a worker that dies as crashed, fails its pending calls, and restarts on the next call', async () => {
    const events = new EventHub();
    const seen: EngineStatus[] = [];
    events.on('engine.status', (s) => seen.push(s));
    client = new WorkerClient(events);
    await client.start();
    // Kill the thread from outside, as a native crash would, while a call is in flight.
    const worker = (client as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const inFlight = client.call('device', 'cpu');
    void worker.terminate();
    await expect(inFlight).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('engine worker exited') });
    expect(client.status).toMatchObject({ state: 'crashed', detail: expect.stringContaining('exited with code') });
    await expect(client.call('device', 'cpu')).resolves.toMatchObject({ kind: 'cpu' });
    expect(seen.map((s) => s.state)).toEqual(['starting', 'ready', 'crashed', 'starting', 'ready']);
  });
});
