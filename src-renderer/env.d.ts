/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { GraftBridge } from '../src-main/ipc/contract';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a plain browser, where lib/ws-bridge.ts provides it. */
    graft?: GraftBridge;
  }
}
