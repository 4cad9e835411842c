import { ipcMain, type WebContents, type WebFrameMain } from 'electron';
import type { HandlerTable } from '../ipc/contract';
import { isStreamName } from '../ipc/define';
import { dispatch } from '../ipc/dispatch';
import type { EventHub } from '../services/events';
import { IPC } from './ipc-names';

/**
 * Serves the handler table and the event streams to the app's own windows over Electron IPC.
 * `isTrusted` decides, per frame, whether a message comes from our renderer (not a navigated-away page).
 */
export function installIpcBridge(handlers: HandlerTable, events: EventHub, isTrusted: (frame: WebFrameMain | null) => boolean): void {
  const subs = new Map<WebContents, Map<string, () => void>>();

  ipcMain.handle(IPC.invoke, (e, channel: unknown, req: unknown) => {
    if (!isTrusted(e.senderFrame)) return { ok: false, error: { code: 'INTERNAL', message: 'IPC from an untrusted frame' } };
    return dispatch(handlers, channel, req, { shell: 'electron' });
  });

  ipcMain.on(IPC.subscribe, (e, stream: unknown) => {
    if (!isTrusted(e.senderFrame) || !isStreamName(stream)) return;
    const wc = e.sender;
    let mine = subs.get(wc);
    if (!mine) {
      subs.set(wc, (mine = new Map()));
      wc.once('destroyed', () => {
        for (const off of mine!.values()) off();
        subs.delete(wc);
      });
    }
    if (mine.has(stream)) return;
    mine.set(
      stream,
      events.on(stream, (event) => {
        if (!wc.isDestroyed()) wc.send(IPC.event, stream, event);
      }),
    );
  });

  ipcMain.on(IPC.unsubscribe, (e, stream: unknown) => {
    const mine = subs.get(e.sender);
    if (typeof stream !== 'string' || !mine) return;
    mine.get(stream)?.();
    mine.delete(stream);
  });
}
