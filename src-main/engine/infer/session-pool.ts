/**
 * Decode sessions outlive one generation: a chat turn, a regenerate or the next compare reuses the
 * sessions of the last one instead of building them again (building is most of a first token's time).
 * The pool is per model and small, because every session holds its own copy of the weights; a session
 * pushed out while a decoder still uses it is released when that decoder lets go.
 */
import type { LoadedModel } from '../model.js';
import type { GraphSession } from '../runtime/session.js';

/** What the pool holds: a session, or anything else that holds a copy of the weights (a captured decode). */
export interface Releasable {
  release(): Promise<void> | void;
}

const MAX_PER_MODEL = 4;

interface Entry {
  session: Promise<Releasable>;
  users: number;
  evicted: boolean;
}

const pools = new WeakMap<LoadedModel, Map<string, Entry>>();
/** Every pool made, weakly: releaseIdleSessions() reaches them without keeping a model alive. */
const allPools: WeakRef<Map<string, Entry>>[] = [];
const ids = new WeakMap<object, number>();
let nextId = 1;

/** A stable number for an object's identity (a weights factory, an overrides map), for pool keys. */
export function identityOf(o: object | undefined): number {
  if (!o) return 0;
  let id = ids.get(o);
  if (!id) ids.set(o, (id = nextId++));
  return id;
}

function release(e: Entry): Promise<void> {
  return e.session.then((s) => s.release()).catch(() => undefined);
}

export interface SessionLease<T extends Releasable = GraphSession> {
  session: Promise<T>;
  done(): void;
}

/** Takes a session from the model's pool (building it on a miss); call done() when the decoder is disposed. */
export function leaseSession<T extends Releasable = GraphSession>(model: LoadedModel, key: string, make: () => Promise<T>): SessionLease<T> {
  let pool = pools.get(model);
  if (!pool) {
    pools.set(model, (pool = new Map()));
    allPools.push(new WeakRef(pool));
  }
  let e = pool.get(key);
  if (e) pool.delete(key); // re-inserted below as the most recently used
  else {
    e = { session: make(), users: 0, evicted: false };
    const entry = e;
    e.session.catch(() => pool.get(key) === entry && pool.delete(key));
  }
  pool.set(key, e);
  e.users++;
  while (pool.size > MAX_PER_MODEL) {
    const [oldKey, old] = pool.entries().next().value as [string, Entry];
    pool.delete(oldKey);
    old.evicted = true;
    if (old.users === 0) void release(old);
  }
  const entry = e;
  let returned = false;
  return {
    session: e.session as Promise<T>,
    done() {
      if (returned) return;
      returned = true;
      entry.users--;
      if (entry.evicted && entry.users === 0) void release(entry);
    },
  };
}

/**
 * Releases every pooled session no decoder holds (a session still leased is released when its decoder lets
 * go). For a caller that is done decoding: a bench whose ORT profile is written only when sessions end.
 */
export async function releaseIdleSessions(): Promise<void> {
  const done: Promise<void>[] = [];
  for (let i = allPools.length - 1; i >= 0; i--) {
    const pool = allPools[i].deref();
    if (!pool) {
      allPools.splice(i, 1); // its model is gone
      continue;
    }
    for (const [key, e] of [...pool]) {
      pool.delete(key);
      e.evicted = true;
      if (e.users === 0) done.push(release(e));
    }
  }
  await Promise.all(done);
}
