/**
 * Moving tensors between host and device. On WebGPU a GPU buffer is never read with getData (that
 * aborts the process in onnxruntime-node); it goes through a small Identity session whose outputs
 * live on the CPU. Uploads go the other way with gpu-buffer outputs. Sessions are cached by signature.
 */
import { Graph } from '../graph/ir.js';
import type { DeviceInfo } from './device.js';
import { GraphSession } from './session.js';
import { DeviceTensor, type Feed, type HostTensor } from './tensors.js';

const sessions = new Map<string, Promise<GraphSession>>();

function signature(kind: string, ts: readonly { dtype: string; shape: readonly number[] }[]): string {
  return `${kind}|${ts.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';')}`;
}

/**
 * One Identity per tensor, by signature: 'up' keeps its outputs on the device (new buffers), 'down' brings
 * them to the host, 'into' writes them into buffers the caller binds (bindOutputs).
 */
function identitySession(device: DeviceInfo, ts: readonly { dtype: string; shape: readonly number[] }[], kind: 'up' | 'down' | 'into') {
  const key = signature(kind, ts);
  let s = sessions.get(key);
  if (!s) {
    const g = new Graph(kind === 'up' ? 'upload' : kind === 'down' ? 'readback' : 'write-into');
    const outs: string[] = [];
    ts.forEach((t, i) => {
      const x = g.input(`x${i}`, t.dtype as never, t.shape);
      outs.push(g.output(g.add('Identity', [x], [{ dtype: x.dtype, shape: x.shape }])[0], `y${i}`).name);
    });
    s = GraphSession.create(g, kind === 'into' ? { device, bindOutputs: true } : { device, keepOnDevice: kind === 'up' ? outs : [] });
    sessions.set(key, s);
  }
  return s;
}

export async function toHostAll(ts: readonly Feed[], device: DeviceInfo): Promise<HostTensor[]> {
  const result: HostTensor[] = new Array(ts.length);
  const gpu: { i: number; t: DeviceTensor }[] = [];
  ts.forEach((t, i) => {
    if (!(t instanceof DeviceTensor)) result[i] = t;
    else if (!t.onGpu) result[i] = { dtype: t.dtype, shape: t.shape, data: t.ort.data as HostTensor['data'] };
    else gpu.push({ i, t });
  });
  if (gpu.length) {
    const s = await identitySession(device, gpu.map((x) => x.t), 'down');
    const out = await s.run(Object.fromEntries(gpu.map((x, k) => [`x${k}`, x.t])));
    gpu.forEach((x, k) => (result[x.i] = out[`y${k}`] as HostTensor));
  }
  return result;
}

export async function toHost(t: Feed, device: DeviceInfo): Promise<HostTensor> {
  return (await toHostAll([t], device))[0];
}

/** Puts host tensors where a session's state lives: GPU buffers on WebGPU, unchanged on the CPU. */
export async function toDeviceAll(ts: readonly HostTensor[], device: DeviceInfo): Promise<Feed[]> {
  if (device.kind !== 'webgpu' || ts.length === 0) return [...ts];
  const s = await identitySession(device, ts, 'up');
  const out = await s.run(Object.fromEntries(ts.map((t, k) => [`x${k}`, t])));
  return ts.map((_, k) => out[`y${k}`]);
}

/**
 * Writes tensors (host tensors, or device tensors: a copy on the device) into existing device buffers (same
 * dtype and shape), in one run: for buffers another runtime holds by address (a captured graph's inputs and
 * outputs), which must keep their place.
 */
export async function writeInto(targets: readonly Feed[], values: readonly Feed[], device: DeviceInfo): Promise<void> {
  if (targets.length !== values.length) throw new Error(`writeInto: ${targets.length} targets, ${values.length} values`);
  if (!targets.length) return;
  const session = await identitySession(device, values, 'into');
  await session.run(Object.fromEntries(values.map((t, k) => [`x${k}`, t])), Object.fromEntries(targets.map((t, k) => [`y${k}`, t])));
}
