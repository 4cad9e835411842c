import type { EventOf, StreamName } from '../ipc/contract';

type Listener<S extends StreamName> = (event: EventOf<S>) => void;

/**
 * Typed fan-out of the contract's streams. Services emit; the Electron bridge and the browser host subscribe
 * on behalf of their renderers. A listener that throws is reported and does not stop the others.
 */
export class EventHub {
  private readonly listeners = new Map<StreamName, Set<Listener<StreamName>>>();

  on<S extends StreamName>(stream: S, listener: Listener<S>): () => void {
    let set = this.listeners.get(stream);
    if (!set) this.listeners.set(stream, (set = new Set()));
    const l = listener as Listener<StreamName>;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  emit<S extends StreamName>(stream: S, event: EventOf<S>): void {
    for (const l of [...(this.listeners.get(stream) ?? [])]) {
      try {
        l(event);
      } catch (err) {
        console.error(`graft: a listener of ${stream} failed:`, err);
      }
    }
  }

  listenerCount(stream: StreamName): number {
    return this.listeners.get(stream)?.size ?? 0;
  }
}
