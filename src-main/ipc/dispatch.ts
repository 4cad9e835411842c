import { toErrorData } from '../engine/errors';
import type { Channel, HandlerContext, HandlerTable, Result } from './contract';

/**
 * Runs one request from an untrusted peer (a renderer or a WebSocket) against the handler table.
 * Never throws: an unknown channel or a failing handler becomes `{ ok: false, error }`.
 */
export async function dispatch(table: HandlerTable, channel: unknown, req: unknown, ctx: HandlerContext): Promise<Result<unknown>> {
  if (typeof channel !== 'string' || !Object.hasOwn(table, channel)) {
    return { ok: false, error: { code: 'NOT_FOUND', message: `Unknown IPC channel ${JSON.stringify(channel)}` } };
  }
  // The table is indexed by a channel validated at run time; the payload is validated by each handler.
  const handler = table[channel as Channel] as (req: unknown, ctx: HandlerContext) => unknown;
  try {
    return { ok: true, value: await handler(req, ctx) };
  } catch (err) {
    return { ok: false, error: toErrorData(err) };
  }
}
