/**
 * Exposes `window.graft` (invoke + subscribe, nothing else) to the sandboxed renderer. Raw ipcRenderer never
 * crosses the bridge; every channel name is checked again by the main process.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { GraftBridge } from '../ipc/contract';
import { IPC } from './ipc-names';

const listeners = new Map<string, Set<(event: unknown) => void>>();

ipcRenderer.on(IPC.event, (_e: IpcRendererEvent, stream: string, event: unknown) => {
  for (const l of listeners.get(stream) ?? []) l(event);
});

const bridge: GraftBridge = {
  invoke: (channel, ...args) => ipcRenderer.invoke(IPC.invoke, channel, args[0]),
  subscribe(stream, listener) {
    let set = listeners.get(stream);
    if (!set) {
      listeners.set(stream, (set = new Set()));
      ipcRenderer.send(IPC.subscribe, stream);
    }
    const l = listener as (event: unknown) => void;
    set.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0 && listeners.get(stream) === set) {
        listeners.delete(stream);
        ipcRenderer.send(IPC.unsubscribe, stream);
      }
    };
  },
};

contextBridge.exposeInMainWorld('graft', bridge);
