import { Graph } from '../graph/ir.js';
import { serializeModel } from '../graph/onnx-writer.js';

/** A one-node model, used to ask an execution provider whether it can create a session at all. */
export function buildProbeModel(): Uint8Array {
  const g = new Graph('probe');
  const x = g.input('x', 'float32', [1]);
  g.output(g.add('Identity', [x], [{ dtype: 'float32', shape: [1] }])[0], 'y');
  return serializeModel(g).model;
}
