/**
 * The app's own part of the IPC contract (merged into contract.ts): what the app is, its engine worker's state and
 * device, the user's preferences and the native file dialog.
 */
import type { DeviceInfo, DevicePref } from '../engine/runtime/device';
import type { TrainSettings } from './train';

/** Which device the user asked for; 'auto' lets the engine pick the best available. */
export type DevicePreference = DevicePref;

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' inside the desktop app, 'browser' when served by `graft serve`. */
  shell: 'electron' | 'browser';
  platform: string;
}

/** Lifecycle of the engine worker that runs off the UI's event loop. */
export interface EngineStatus {
  state: 'starting' | 'ready' | 'crashed' | 'stopped';
  /** Why it crashed or stopped, when it did. */
  detail?: string;
}

/** Preferences kept in settings.json in the user data folder. */
export interface AppSettings {
  /** Where Hub downloads come from; null: GRAFT_HF_ENDPOINT, else huggingface.co. */
  hfEndpoint: string | null;
  /** The settings of the last run started, so the Train form opens with them. */
  lastTrain: TrainSettings | null;
  /** 'system' follows the OS. */
  theme: ThemeChoice;
  /** The device a new run (with no last run to copy) and the status bar start from. */
  defaultDevice: DevicePreference;
  /** Threads of each CPU session the engine creates; null: onnxruntime's default (one per core). */
  cpuThreads: number | null;
}

export const THEME_CHOICES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEME_CHOICES)[number];

/** What the Settings screen may change. */
export type SettingsUpdate = Partial<Pick<AppSettings, 'hfEndpoint' | 'theme' | 'defaultDevice' | 'cpuThreads'>>;

/** Where the app keeps things (shown, not chosen: GRAFT_LIBRARY and GRAFT_DATA_DIR move them). */
export interface AppFolders {
  library: string;
  data: string;
}

export interface PickPathRequest {
  kind: 'file' | 'folder';
  title?: string;
  filters?: { name: string; extensions: string[] }[];
}

/**
 * A file or folder of the machine running `graft serve`, offered to the browser as a download (the browser host
 * only: Electron writes where its dialog says). `url` is same-origin, single-use and short-lived; a folder
 * comes as one archive, a zip, or a tar when it is too big for a classic zip.
 */
export interface DownloadOffer {
  url: string;
  /** The file name the browser saves it under. */
  name: string;
  /** 'none': the file itself. */
  archive: 'none' | 'zip' | 'tar';
  /** The file's size (for a folder, the sum of its files'). */
  bytes: number;
}

/** An upload from the browser (the browser host only): its files, by path inside the upload ("a/b.json"). */
export interface UploadStartReq {
  files: { name: string; bytes: number }[];
}

/** Most raw bytes of one upload piece: about 5.6 MB of base64, well inside one socket frame. */
export const UPLOAD_PIECE_BYTES = 4 << 20;

/** One piece of one file of an upload, base64, written at `offset` (pieces come in order). */
export interface UploadChunkReq {
  uploadId: string;
  index: number;
  offset: number;
  data: string;
}

/** What an upload became on the host: a path its other requests (an adapter import) may name. */
export interface UploadDone {
  /** The one top-level file or folder uploaded, else the upload's folder. */
  path: string;
}

export interface AppChannels {
  'app.info': { req: void; res: AppInfo };
  'app.pickPath': { req: PickPathRequest; res: string | null };
  'engine.status': { req: void; res: EngineStatus };
  'engine.device': { req: { pref: DevicePreference }; res: DeviceInfo };
  'settings.get': { req: void; res: AppSettings };
  'settings.update': { req: SettingsUpdate; res: AppSettings };
  'settings.folders': { req: void; res: AppFolders };
  'app.download': { req: { path: string }; res: DownloadOffer };
  'app.uploadStart': { req: UploadStartReq; res: { uploadId: string } };
  'app.uploadChunk': { req: UploadChunkReq; res: { received: number } };
  'app.uploadFinish': { req: { uploadId: string }; res: UploadDone };
  'app.uploadDiscard': { req: { uploadId: string }; res: void };
}

export interface AppStreams {
  'engine.status': EngineStatus;
}
