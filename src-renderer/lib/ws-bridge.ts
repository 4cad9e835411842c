/**
 * `window.graft` for a plain browser page served by `graft serve`: the same invoke/subscribe API, carried
 * over the host's WebSocket. The per-launch token comes from the URL the host printed; it leaves the address
 * bar at once and reaches the socket in a header (see `tokenProtocols`), never in a URL.
 */
import type { Channel, EventOf, GraftBridge, InvokeArgs, ResponseOf, Result, StreamName } from '../../src-main/ipc/contract';
import { MAX_ASSEMBLED_BYTES, WS_PATH, splitMessage, tokenProtocols, type ClientMessage, type ServerMessage } from '../../src-main/ipc/wire';

const TOKEN_KEY = 'graft.token';

/** Takes the token from `?token=`, keeps it for reloads of this tab, and removes it from the address bar. */
export function takeToken(loc: Location = location, storage: Storage = sessionStorage): string | null {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

function tooLarge(bytes: number) {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return {
    code: 'BAD_INPUT' as const,
    message: `This request is ${mib(bytes)}, over the browser connection's limit of ${mib(MAX_ASSEMBLED_BYTES)}: for a file this big, type its path on the machine running \`graft serve\` instead.`,
  };
}

export function createWsBridge(token: string | null): GraftBridge {
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Map<string, Set<(event: unknown) => void>>();
  const queue: string[] = [];
  let nextId = 1;
  let lost: string | null = token ? null : 'This page has no access token: open the URL that `graft serve` printed.';

  const ws = new WebSocket(`ws://${location.host}${WS_PATH}`, tokenProtocols(token ?? ''));
  const send = (msg: ClientMessage | string) => {
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg);
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
    else if (ws.readyState === WebSocket.CONNECTING) queue.push(text);
  };
  ws.addEventListener('open', () => {
    for (const m of queue.splice(0)) ws.send(m);
  });
  ws.addEventListener('message', (e: MessageEvent<string>) => {
    const msg = JSON.parse(e.data) as ServerMessage;
    if (msg.type === 'result') {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    } else {
      for (const l of listeners.get(msg.stream) ?? []) l(msg.event);
    }
  });
  ws.addEventListener('close', () => {
    lost ??= "The connection to `graft serve` was lost (stopped, or the token is not this launch's). Restart it and open the new URL.";
    for (const resolve of pending.values()) resolve({ ok: false, error: { code: 'INTERNAL', message: lost } });
    pending.clear();
  });

  return {
    invoke<C extends Channel>(channel: C, ...args: InvokeArgs<C>): Promise<Result<ResponseOf<C>>> {
      if (lost && ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) {
        return Promise.resolve({ ok: false, error: { code: 'INTERNAL', message: lost } });
      }
      const id = nextId++;
      const text = JSON.stringify({ type: 'invoke', id, channel, req: args[0] } satisfies ClientMessage);
      // A message over one frame's limit (a dropped file's whole text) goes in parts the host puts back
      // together; past what the host will hold, refuse this one call, with a way round it.
      const bytes = new TextEncoder().encode(text).length;
      if (bytes > MAX_ASSEMBLED_BYTES) return Promise.resolve({ ok: false, error: tooLarge(bytes) });
      return new Promise((resolve) => {
        pending.set(id, resolve as (r: Result<unknown>) => void);
        for (const frame of splitMessage(text, id, bytes)) send(frame);
      });
    },
    subscribe<S extends StreamName>(stream: S, listener: (event: EventOf<S>) => void): () => void {
      let set = listeners.get(stream);
      if (!set) {
        listeners.set(stream, (set = new Set()));
        send({ type: 'subscribe', stream });
      }
      const l = listener as (event: unknown) => void;
      set.add(l);
      return () => {
        set.delete(l);
        if (set.size === 0 && listeners.get(stream) === set) {
          listeners.delete(stream);
          send({ type: 'unsubscribe', stream });
        }
      };
    },
  };
}
