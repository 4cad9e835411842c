import { describe, expect, it, vi } from 'vitest';
import type { EngineStatus } from '../../src-main/ipc/contract';
import { EventHub } from '../../src-main/services/events';

describe('EventHub', () => {
  it('delivers to every listener of a stream until it unsubscribes', () => {
    const hub = new EventHub();
    const a: EngineStatus[] = [];
    const b: EngineStatus[] = [];
    const offA = hub.on('engine.status', (e) => a.push(e));
    hub.on('engine.status', (e) => b.push(e));
    hub.emit('engine.status', { state: 'starting' });
    offA();
    offA(); // twice is harmless
    hub.emit('engine.status', { state: 'ready' });
    expect(a).toEqual([{ state: 'starting' }]);
    expect(b).toEqual([{ state: 'starting' }, { state: 'ready' }]);
    expect(hub.listenerCount('engine.status')).toBe(1);
  });

  it('keeps delivering when one listener throws', () => {
    const hub = new EventHub();
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const seen: string[] = [];
    hub.on('engine.status', () => {
      throw new Error('boom');
    });
    hub.on('engine.status', (e) => seen.push(e.state));
    hub.emit('engine.status', { state: 'crashed', detail: 'x' });
    expect(seen).toEqual(['crashed']);
    expect(error).toHaveBeenCalledOnce();
    error.mockRestore();
  });
});
