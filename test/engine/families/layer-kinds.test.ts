/**
 * GPTQ runs a model one layer at a time on a one-layer graph; Gemma 3 (sliding and full layers, each
 * with its RoPE) and SmolLM3 (NoPE layers) need one such graph per kind of layer. Layer by layer, the
 * residual stream must equal the whole decoder's.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { decoderForward } from '../../../src-main/engine/models/decoder.js';
import { plainWeights, readWeight } from '../../../src-main/engine/models/weights.js';
import { LayerHessians } from '../../../src-main/engine/quant/layer-hessians.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { causalMask, positionRange } from '../../../src-main/engine/models/decoder-inputs.js';
import { MORE } from './fixtures.js';

describe.each(['gemma3', 'smollm3'])('%s', (arch) => {
  it('layer-by-layer runs (GPTQ calibration) give the residual stream of the whole decoder (≤ 1e-5)', async () => {
    const model = await loadModel(path.join(MORE, arch, 'model'));
    const { spec } = model;
    const [B, T] = [2, 12];
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 29 + 3) % spec.vocab);
    const device = await resolveDevice('cpu');

    const g = new Graph('whole');
    const idv = g.input('input_ids', 'int32', [B, T]);
    const pos = g.input('positions', 'int32', [B, T]);
    const mask = g.input('attn_mask', 'float32', [B, 1, 1, T, T]);
    const fwd = decoderForward(plainWeights(g, model.source, 'float32'), spec, { ids: idv, positions: pos, mask }, { ropeLength: T });
    g.output(fwd.residual, 'residual');
    const whole = await GraphSession.create(g, { device });
    const out = await whole.run({
      input_ids: { dtype: 'int32', shape: [B, T], data: ids },
      positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
      attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
    });
    await whole.release();
    const want = (out.residual as HostTensor).data as Float32Array;

    const table = readWeight(model.source, 'model.embed_tokens.weight');
    const D = spec.hidden;
    let res: Float32Array = new Float32Array(B * T * D);
    ids.forEach((id, i) => res.set(table.subarray(id * D, (id + 1) * D).map((x) => Math.fround(x * spec.embedScale)), i * D));
    const runner = await LayerHessians.create(model, B, T, device);
    try {
      for (let layer = 0; layer < spec.layers; layer++) {
        const tensors = new Map(runner.tensorNames(layer).map((n) => [n, model.source.readF32(n)]));
        res = (await runner.run(layer, res, tensors)).residual;
      }
    } finally {
      await runner.release();
    }
    let worst = 0;
    want.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - res[i]))));
    expect(worst).toBeLessThanOrEqual(1e-5);
    model.source.close();
  });
});
