/** Tensors as the rest of the engine sees them: host arrays, or opaque handles that stay on the device. */
import ort from 'onnxruntime-node';
import type { DType, TypedData } from '../graph/ir.js';

export interface HostTensor {
  dtype: DType;
  shape: readonly number[];
  data: TypedData;
}

/** An output kept where it was computed (a GPU buffer on WebGPU), to feed back into a later run. */
export class DeviceTensor {
  /** @internal */
  constructor(readonly ort: ort.Tensor) {}

  get shape(): readonly number[] {
    return this.ort.dims;
  }

  get dtype(): DType {
    return this.ort.type as DType;
  }

  get onGpu(): boolean {
    return this.ort.location === 'gpu-buffer';
  }

  dispose(): void {
    if (this.onGpu) this.ort.dispose();
  }
}

export type Feed = HostTensor | DeviceTensor;

/** Zeros of a float type (fp16's zero is all bits clear too). */
export function zeroTensor(dtype: 'float32' | 'float16', shape: readonly number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype, shape, data: dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n) };
}

export function hostTensor(dtype: DType, shape: readonly number[], data: TypedData): HostTensor {
  return { dtype, shape, data };
}

export function toOrt(f: Feed): ort.Tensor {
  if (f instanceof DeviceTensor) return f.ort;
  return new ort.Tensor(f.dtype as 'float32', f.data as Float32Array, f.shape as number[]);
}

export function fromOrtCpu(t: ort.Tensor): HostTensor {
  return { dtype: t.type as DType, shape: t.dims, data: t.data as TypedData };
}
