import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh secret for each launch of the browser host; it travels only in the URL the host prints. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The names under which the loopback host may be addressed; anything else is DNS rebinding or a proxy. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export type Refusal = { status: 401 | 403; reason: string };

/**
 * Host header must name our loopback address; an Origin, when present, must be our own page.
 * `requireOrigin` is set for the WebSocket, which browsers always send an Origin for.
 */
export function checkRequest(req: IncomingMessage, port: number, requireOrigin: boolean): Refusal | null {
  const hosts = allowedHosts(port);
  if (!hosts.includes(req.headers.host ?? ''))
    return { status: 403, reason: `Host ${JSON.stringify(req.headers.host)} is not this server` };
  const origin = req.headers.origin;
  if (origin === undefined) return requireOrigin ? { status: 403, reason: 'Origin header missing' } : null;
  if (!hosts.some((h) => origin === `http://${h}`)) return { status: 403, reason: `Origin ${JSON.stringify(origin)} is not allowed` };
  return null;
}
