import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { toDeviceAll, toHostAll } from '../../../src-main/engine/runtime/transfer.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

// Outputs written into tensors the caller gives (onnxruntime-node honours them only on a session with no
// preferred output locations): a state fed as an input and bound as the output of the same run is updated
// in place, run after run, on the host and on the GPU; an output not bound comes back to the host.

function accumulate(): Graph {
  const g = new Graph('accumulate');
  const x = g.input('x', 'float32', [4]);
  const state = g.input('state', 'float32', [4]);
  const two = g.init('two', { dtype: 'float32', shape: [1], data: Float32Array.of(2) });
  const [y] = g.add('Mul', [x, two], [{ dtype: 'float32', shape: [4] }]);
  const [next] = g.add('Add', [state, y], [{ dtype: 'float32', shape: [4] }]);
  g.output(next, 'state_out');
  g.output(y, 'y');
  return g;
}

describe('outputs bound by the caller', () => {
  for (const [name, pref, enabled] of [
    ['CPU EP', 'cpu', true],
    [gpuName, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])
    it.skipIf(!enabled)(`${name}: a state bound as its own output accumulates in place`, async () => {
      const device = await resolveDevice(pref);
      const s = await GraphSession.create(accumulate(), { device, bindOutputs: true });
      try {
        const host = (data: number[]): HostTensor => ({ dtype: 'float32', shape: [4], data: Float32Array.from(data) });
        const [state] = await toDeviceAll([host([0, 0, 0, 0])], device);
        const x = host([1, 2, 3, 4]);
        let y: HostTensor | undefined;
        for (let i = 0; i < 3; i++) {
          const out = await s.run({ x, state }, { state_out: state });
          expect(out.state_out).toBe(state);
          y = out.y as HostTensor;
        }
        expect(Array.from(y!.data as Float32Array)).toEqual([2, 4, 6, 8]);
        const [after] = await toHostAll([state], device);
        expect(Array.from(after.data as Float32Array)).toEqual([6, 12, 18, 24]);
      } finally {
        await s.release();
      }
    });

  it('a session made without bindOutputs refuses outputs to bind', async () => {
    const device = await resolveDevice('cpu');
    const s = await GraphSession.create(accumulate(), { device });
    try {
      const state: HostTensor = { dtype: 'float32', shape: [4], data: new Float32Array(4) };
      await expect(s.run({ x: state, state }, { state_out: state })).rejects.toThrow(/bindOutputs/);
    } finally {
      await s.release();
    }
  });
});
