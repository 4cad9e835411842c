import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../../src-main/engine/model.js';
import type { GraphSession } from '../../../src-main/engine/runtime/session.js';
import { leaseSession } from '../../../src-main/engine/infer/session-pool.js';

function fakeModel(): LoadedModel {
  return {} as LoadedModel; // only its identity keys the pool
}
function counter() {
  const released: string[] = [];
  const make = (name: string) => () => Promise.resolve({ release: async () => void released.push(name) } as unknown as GraphSession);
  return { released, make };
}

describe('decode session pool', () => {
  it('reuses a session by key and builds each key once', async () => {
    const m = fakeModel();
    let built = 0;
    const make = () => {
      built++;
      return Promise.resolve({ release: async () => undefined } as unknown as GraphSession);
    };
    const a = leaseSession(m, 'k', make);
    a.done();
    const b = leaseSession(m, 'k', make);
    expect(await b.session).toBe(await a.session);
    expect(built).toBe(1);
  });

  it('keeps at most 4 sessions, and never releases one that is still leased', async () => {
    const m = fakeModel();
    const { released, make } = counter();
    const held = leaseSession(m, 'k0', make('k0'));
    for (let i = 1; i <= 5; i++) leaseSession(m, `k${i}`, make(`k${i}`)).done();
    await new Promise((r) => setTimeout(r, 0));
    // k0 (oldest) and k1 were pushed out; k1 is free so it went at once, k0 waits for its user
    expect(released).toEqual(['k1']);
    held.done();
    held.done(); // idempotent
    await new Promise((r) => setTimeout(r, 0));
    expect(released.sort()).toEqual(['k0', 'k1']);
  });
});
