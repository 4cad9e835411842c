import type { Component } from 'svelte';
import AdaptersView from '../views/AdaptersView.svelte';
import ChatView from '../views/ChatView.svelte';
import DatasetsView from '../views/DatasetsView.svelte';
import ModelsView from '../views/ModelsView.svelte';
import SettingsView from '../views/SettingsView.svelte';
import TrainView from '../views/TrainView.svelte';

export interface Route {
  /** The URL hash: #/models */
  id: string;
  label: string;
  view: Component;
}

/** The app's screens, in navigation order. The first is the start screen. */
export const routes: readonly Route[] = [
  { id: 'models', label: 'Models', view: ModelsView },
  { id: 'datasets', label: 'Datasets', view: DatasetsView },
  { id: 'train', label: 'Train', view: TrainView },
  { id: 'adapters', label: 'Adapters', view: AdaptersView },
  { id: 'chat', label: 'Chat', view: ChatView },
  { id: 'settings', label: 'Settings', view: SettingsView },
];
