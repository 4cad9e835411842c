/** A base model ready for graph building: its weights behind a source and its spec. */
import { openModelSource, type WeightSource } from './io/model-source.js';
import { specFromConfig } from './models/index.js';
import type { ModelSpec } from './models/spec.js';

export interface LoadedModel {
  source: WeightSource;
  spec: ModelSpec;
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const source = await openModelSource(path);
  return { source, spec: specFromConfig(source.config, source.path) };
}
