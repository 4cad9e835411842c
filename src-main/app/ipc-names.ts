/** Electron IPC channel names shared by main and preload (the contract's channels travel as arguments). */
export const IPC = {
  invoke: 'graft:invoke',
  subscribe: 'graft:subscribe',
  unsubscribe: 'graft:unsubscribe',
  event: 'graft:event',
} as const;
