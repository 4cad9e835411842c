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
  'settings.update': { req: { hfEndpoint?: string | null }; res: AppSettings };
}

export interface AppStreams {
  'engine.status': EngineStatus;
}
