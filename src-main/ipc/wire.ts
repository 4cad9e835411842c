/**
 * Messages of the browser host's WebSocket, which carries the same `window.graft` API as Electron's IPC.
 * Types only: the host (src-main/host) and the renderer's WebSocket client both import them.
 */
import type { Result } from './contract';

export type ClientMessage =
  | { type: 'invoke'; id: number; channel: string; req?: unknown }
  | { type: 'subscribe'; stream: string }
  | { type: 'unsubscribe'; stream: string }
  /** One slice of an invoke message too big for one frame (a dropped file's text); `last` completes it. */
  | { type: 'part'; id: number; data: string; last: boolean };

export type ServerMessage = { type: 'result'; id: number; result: Result<unknown> } | { type: 'event'; stream: string; event: unknown };

/** Path of the WebSocket endpoint. */
export const WS_PATH = '/graft-ws';

/**
 * The per-launch token travels in the Sec-WebSocket-Protocol header (the one header a page may set on a
 * WebSocket), never in the socket's URL, where proxies, logs and devtools would keep it.
 */
export const WS_PROTOCOL = 'graft';
const TOKEN_PREFIX = 'graft-token.';

/** The subprotocols a client offers: ours, and the token (base64url, valid in a protocol name). */
export function tokenProtocols(token: string): string[] {
  return [WS_PROTOCOL, TOKEN_PREFIX + token];
}

/** The token a client offered in its Sec-WebSocket-Protocol header, if any. */
export function tokenFromProtocols(header: string | undefined): string | null {
  for (const p of (header ?? '').split(',')) {
    const name = p.trim();
    if (name.startsWith(TOKEN_PREFIX)) return name.slice(TOKEN_PREFIX.length);
  }
  return null;
}

/** Largest message either side sends; the renderer refuses a bigger request before sending it. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Largest invoke sent in parts (splitMessage), reassembled by the host: big enough for a dataset dropped on
 * the page, small enough that one socket cannot make the host hold more than this at a time.
 */
export const MAX_ASSEMBLED_BYTES = 256 * 1024 * 1024;
/** Characters of the message per part: at most 6 bytes each once JSON-escaped, well under MAX_MESSAGE_BYTES. */
export const PART_CHARS = 1 << 20;

/** An invoke message's text as the frames that carry it: itself when it fits, else its parts in order. */
export function splitMessage(text: string, id: number, bytes: number): string[] {
  if (bytes <= MAX_MESSAGE_BYTES) return [text];
  const frames: string[] = [];
  for (let at = 0; at < text.length; at += PART_CHARS) {
    const data = text.slice(at, at + PART_CHARS);
    frames.push(JSON.stringify({ type: 'part', id, data, last: at + PART_CHARS >= text.length } satisfies ClientMessage));
  }
  return frames;
}
