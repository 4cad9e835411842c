import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, shell, type WebFrameMain } from 'electron';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The renderer's own URL: electron-vite's dev server while developing, the built file otherwise. */
function rendererUrl(): string {
  const dev = process.env.ELECTRON_RENDERER_URL;
  if (dev && !app.isPackaged) return dev;
  return new URL(`file://${path.join(here, '../renderer/index.html')}`).href;
}

function sameApp(url: string, appUrl: string): boolean {
  const a = new URL(url);
  const b = new URL(appUrl);
  return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname;
}

/** Is the frame our top-level app page (and not something it navigated to)? */
export function isAppFrame(frame: WebFrameMain | null): boolean {
  return !!frame && frame.parent === null && sameApp(frame.url, rendererUrl());
}

export function createMainWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 760,
    minHeight: 480,
    show: false,
    title: 'Graft',
    autoHideMenuBar: true,
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  // Links to the web open in the user's browser; the app window never leaves the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (sameApp(url, rendererUrl())) return;
    e.preventDefault();
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
  });

  void win.loadURL(rendererUrl());
  return win;
}
