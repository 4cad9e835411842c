import { api } from './api';

export interface BaseModelChoice {
  name: string;
  path: string;
}

/** The models of the Models screen's registry, as choices of a base model; empty when none can be listed. */
export async function listBaseModels(): Promise<BaseModelChoice[]> {
  const r = await api.invoke('models.list');
  if (!r.ok) return [];
  return r.value.models.filter((m) => m.info !== null).map((m) => ({ name: m.name, path: m.path }));
}
