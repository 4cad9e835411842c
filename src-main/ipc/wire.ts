/**
 * Messages of the browser host's WebSocket, which carries the same `window.graft` API as Electron's IPC.
 * Types only: the host (src-main/host) and the renderer's WebSocket client both import them.
 */
import type { Result } from './contract';

export type ClientMessage =
  | { type: 'invoke'; id: number; channel: string; req?: unknown }
  | { type: 'subscribe'; stream: string }
  | { type: 'unsubscribe'; stream: string };

export type ServerMessage = { type: 'result'; id: number; result: Result<unknown> } | { type: 'event'; stream: string; event: unknown };

/** Path of the WebSocket endpoint; the per-launch token travels as `?token=`. */
export const WS_PATH = '/graft-ws';
