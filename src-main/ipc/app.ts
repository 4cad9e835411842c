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

export interface AppChannels {
  'app.info': { req: void; res: AppInfo };
  'app.pickPath': { req: PickPathRequest; res: string | null };
  'engine.status': { req: void; res: EngineStatus };
  'engine.device': { req: { pref: DevicePreference }; res: DeviceInfo };
  'settings.get': { req: void; res: AppSettings };
  'settings.update': { req: SettingsUpdate; res: AppSettings };
  'settings.folders': { req: void; res: AppFolders };
}

export interface AppStreams {
  'engine.status': EngineStatus;
}
