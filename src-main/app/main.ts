/**
 * Electron main process: one instance, one window, the handler table over IPC, the engine on a worker thread.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, session } from 'electron';
import { createHandlers } from '../ipc/handlers';
import { createServices } from '../services/index';
import { installIpcBridge } from './ipc-bridge';
import { createMainWindow, isAppFrame } from './window';

// The renderer's CSP is also set in index.html; the header covers responses the meta tag cannot.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; form-action 'none'";

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  // This file is the entry of out/main/index.js; electron.vite.config.ts puts the worker beside it.
  const engineWorker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'engine-worker.js');
  const services = createServices(
    { name: 'graft', version: app.getVersion(), platform: process.platform },
    {
      engineWorker,
      // electron-builder's extraResources put resources/demo there; from source, resources/ is found by walking up.
      resourcesDir: app.isPackaged ? process.resourcesPath : undefined,
      pickPath: async (req) => {
        const opts = { title: req.title, filters: req.filters, properties: [req.kind === 'folder' ? 'openDirectory' : 'openFile'] as ('openDirectory' | 'openFile')[] };
        const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
    },
  );

  const openWindow = () => {
    win = createMainWindow();
    win.on('closed', () => (win = null));
  };

  app.on('second-instance', () => {
    // Launching the app again while a run trains on with no window brings a window back (it reattaches).
    if (!win) return void (app.isReady() && openWindow());
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  app.on('web-contents-created', (_e, contents) => {
    // No <webview>, no permission prompts: the app needs neither.
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.session.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
  });

  void app.whenReady().then(() => {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    installIpcBridge(createHandlers(services), services.events, isAppFrame);
    void services.worker.start().catch(() => undefined); // status is streamed; a failed start shows there
    openWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) openWindow();
    });
  });

  app.on('window-all-closed', () => {
    // A training run lives in the engine worker: closing the window does not stop it. Quit once it is over
    // unless a window came back meanwhile.
    if (process.platform === 'darwin') return;
    void services.train.whenIdle().then(() => {
      if (BrowserWindow.getAllWindows().length === 0) app.quit();
    });
  });

  app.on('will-quit', () => {
    void services.dispose();
  });
}
