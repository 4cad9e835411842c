/**
 * A small typed IR for ONNX graphs. Every value has a dtype and a static shape, computed by the op
 * builders in ../ops as nodes are added, so shape errors surface while a graph is built, not inside
 * onnxruntime. Nodes are kept in creation order, which is a topological order.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'int32' | 'int64' | 'bool' | 'uint8' | 'int8';

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export type Attr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { t: TensorData };

export interface Node {
  readonly op: string;
  readonly domain: string;
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, Attr>>;
  /** Set on nodes whose outputs must not carry gradient (e.g. the max subtracted in log-sum-exp). */
  readonly noGrad: boolean;
}

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/** Initializer contents: inline bytes, or a byte range of an external weights file resolved at save time. */
export interface TensorData {
  dtype: DType;
  shape: readonly number[];
  data: TypedData;
}

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  uint8: 1,
  int8: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<Value, TensorData>();
  /** Initializers of this size or larger go to the external weights file. */
  externalThreshold = 1024;
  /** Set by quantized weights: ORT must not constant-fold this graph (it would expand packed weights to fp32). */
  keepConstantsPacked = false;
  /**
   * Graph inputs/outputs whose axis is left symbolic in the saved model (value name → axis → name):
   * ORT then sizes it at run time, so one session serves every length (prefill and decode). Shapes in
   * the IR carry a nominal size for that axis; the builder must not bake it into a node.
   */
  readonly symbolicDims = new Map<string, Map<number, string>>();
  private nextId = 0;
  private names = new Set<string>();
  private noGradDepth = 0;

  constructor(readonly name = 'graft') {}

  private fresh(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  newValue(dtype: DType, shape: readonly number[], base = 'v'): Value {
    const id = this.nextId++;
    return { id, name: this.fresh(base === 'v' ? `v${id}` : base), dtype, shape: [...shape] };
  }

  input(name: string, dtype: DType, shape: readonly number[]): Value {
    if (this.names.has(name)) throw new Error(`duplicate graph input ${name}`);
    const v = this.newValue(dtype, shape, name);
    this.inputs.push(v);
    return v;
  }

  output(v: Value, name?: string): Value {
    let out = v;
    // ONNX graph outputs are names; give the value the requested name through an Identity when it differs.
    if (name !== undefined && name !== v.name) {
      if (this.names.has(name)) throw new Error(`duplicate graph output ${name}`);
      out = { id: this.nextId++, name, dtype: v.dtype, shape: v.shape };
      this.names.add(name);
      this.nodes.push({ op: 'Identity', domain: '', inputs: [v], outputs: [out], attrs: {}, noGrad: false });
    }
    this.outputs.push(out);
    return out;
  }

  /**
   * Makes a value that a node of this graph computes an output under `name` by renaming the value itself,
   * where output() adds an Identity. The WebGPU EP runs an Identity into a bound output as a buffer copy outside
   * its recorded dispatches, so a graph-captured replay leaves that output as the capture's first run wrote it
   * (train/step-capture.ts). Every reader of the value, earlier or later, sees the new name. A graph input, an
   * initializer or a value already an output still goes through output().
   */
  outputRenamed(v: Value, name: string): Value {
    if (v.name === name || this.outputs.includes(v) || !this.nodes.some((n) => n.outputs.includes(v))) return this.output(v, name);
    if (this.names.has(name)) throw new Error(`duplicate graph output ${name}`);
    this.names.add(name);
    (v as { name: string }).name = name;
    this.outputs.push(v);
    return v;
  }

  /** A constant tensor. Large ones end up in the external weights file when the graph is saved. */
  init(name: string, data: TensorData): Value {
    const v = this.newValue(data.dtype, data.shape, name);
    this.initializers.set(v, data);
    return v;
  }

  /** Adds a node with explicitly typed outputs. Op builders call this after computing output shapes. */
  add(
    op: string,
    inputs: readonly (Value | null)[],
    outTypes: readonly { dtype: DType; shape: readonly number[] }[],
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Value[] {
    const outputs = outTypes.map((t) => this.newValue(t.dtype, t.shape));
    this.nodes.push({ op, domain, inputs: [...inputs], outputs, attrs, noGrad: this.noGradDepth > 0 });
    return outputs;
  }

  /** Builds the nodes made inside `fn` as constants for autodiff (stop-gradient). */
  noGrad<T>(fn: () => T): T {
    this.noGradDepth++;
    try {
      return fn();
    } finally {
      this.noGradDepth--;
    }
  }

  isConstant(v: Value): boolean {
    return this.initializers.has(v);
  }
}
