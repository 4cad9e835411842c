/**
 * ONNX Runtime's C API, called through koffi on the same libonnxruntime that onnxruntime-node loads: only
 * for what the binding cannot do. That is the WebGPU EP's graph capture (`enableGraphCapture`), an
 * EP option the binding does not pass on (session.ts says why `extra` cannot set it): a captured decode step
 * replays its recorded dispatches instead of encoding each op again on the host. And a session's initializer
 * given as a device buffer the caller holds (ORT's AddInitializer, with aliasOf), so two sessions can read
 * one copy of a weight (test/engine/runtime/shared-initializer.test.ts).
 *
 * The OrtApi table is read by index. Indices are the C header's member order (append-only across versions);
 * every one used here exists since API 12, and the table is asked for as version 12.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { DType } from '../graph/ir.js';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => unknown;
export type Ptr = bigint;

const API_VERSION = 12;
/** Member index → C prototype; names as in onnxruntime_c_api.h. */
const TABLE = {
  GetErrorMessage: [2, 'const char* GetErrorMessage(void* status)'],
  CreateEnv: [3, 'void* CreateEnv(int level, const char* logid, _Out_ void** out)'],
  CreateSession: [7, 'void* CreateSession(void* env, const char* path, void* options, _Out_ void** out)'],
  CreateSessionFromArray: [8, 'void* CreateSessionFromArray(void* env, const void* data, size_t bytes, void* options, _Out_ void** out)'],
  CreateSessionOptions: [10, 'void* CreateSessionOptions(_Out_ void** out)'],
  SetSessionLogSeverityLevel: [22, 'void* SetSessionLogSeverityLevel(void* options, int level)'],
  SetSessionGraphOptimizationLevel: [23, 'void* SetSessionGraphOptimizationLevel(void* options, int level)'],
  CreateRunOptions: [39, 'void* CreateRunOptions(_Out_ void** out)'],
  CreateTensorWithDataAsOrtValue: [
    49,
    'void* CreateTensorWithDataAsOrtValue(void* info, void* data, size_t bytes, const int64_t* shape, size_t rank, int type, _Out_ void** out)',
  ],
  CreateCpuMemoryInfo: [69, 'void* CreateCpuMemoryInfo(int allocator, int memType, _Out_ void** out)'],
  IsTensor: [50, 'void* IsTensor(void* value, _Out_ int* out)'],
  GetTensorMutableData: [51, 'void* GetTensorMutableData(void* value, _Out_ void** out)'],
  GetTensorMemoryInfo: [194, 'void* GetTensorMemoryInfo(void* value, _Out_ void** out)'],
  GetTensorElementType: [60, 'void* GetTensorElementType(void* info, _Out_ int* out)'],
  GetTensorShapeElementCount: [64, 'void* GetTensorShapeElementCount(void* info, _Out_ size_t* out)'],
  GetTensorTypeAndShape: [65, 'void* GetTensorTypeAndShape(void* value, _Out_ void** out)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void ReleaseTensorTypeAndShapeInfo(void* p)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void* p)'],
  ReleaseSession: [95, 'void ReleaseSession(void* p)'],
  ReleaseValue: [96, 'void ReleaseValue(void* p)'],
  ReleaseRunOptions: [97, 'void ReleaseRunOptions(void* p)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void* p)'],
  AddSessionConfigEntry: [130, 'void* AddSessionConfigEntry(void* options, const char* key, const char* value)'],
  RunWithBinding: [133, 'void* RunWithBinding(void* session, void* runOptions, void* binding)'],
  CreateIoBinding: [134, 'void* CreateIoBinding(void* session, _Out_ void** out)'],
  ReleaseIoBinding: [135, 'void ReleaseIoBinding(void* p)'],
  BindInput: [136, 'void* BindInput(void* binding, const char* name, void* value)'],
  BindOutput: [137, 'void* BindOutput(void* binding, const char* name, void* value)'],
  AddInitializer: [150, 'void* AddInitializer(void* options, const char* name, void* value)'],
  AddRunConfigEntry: [165, 'void* AddRunConfigEntry(void* options, const char* key, const char* value)'],
  SessionOptionsAppendExecutionProvider: [
    216,
    'void* SessionOptionsAppendExecutionProvider(void* options, const char* name, const char** keys, const char** values, size_t n)',
  ],
} as const;
type Name = keyof typeof TABLE;

/** ONNXTensorElementDataType of the dtypes a decode step binds. */
const ELEMENT: Partial<Record<DType, number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 };
const BYTES: Partial<Record<DType, number>> = { float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, float16: 2 };

/**
 * ORT's log severity for the engine's sessions and the env: 3 (errors) unless GRAFT_ORT_LOG_LEVEL (0–4) says
 * otherwise: ORT's own log of session creation, with its timestamps, for measurements and debugging.
 */
export function ortLogLevel(): 0 | 1 | 2 | 3 | 4 {
  const v = Number(process.env.GRAFT_ORT_LOG_LEVEL);
  return Number.isInteger(v) && v >= 0 && v <= 4 ? (v as 0 | 1 | 2 | 3 | 4) : 3;
}

/** require from here, in a bundle (__filename) or from source (import.meta.url). */
function requireHere(): NodeRequire {
  return createRequire(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url));
}

/** The libonnxruntime that onnxruntime-node's binding loads (the same copy, so the same env and WebGPU device). */
function ortLibrary(): string {
  const root = path.dirname(requireHere().resolve('onnxruntime-node/package.json'));
  const name =
    process.platform === 'win32' ? 'onnxruntime.dll' : process.platform === 'darwin' ? 'libonnxruntime.1.dylib' : 'libonnxruntime.so.1';
  const bin = path.join(root, 'bin');
  const found = (existsSync(bin) ? readdirSync(bin) : [])
    .map((v) => path.join(bin, v, process.platform, process.arch, name))
    .find((p) => existsSync(p));
  if (!found) throw new Error(`ONNX Runtime's library ${name} is not under ${bin}`);
  return found;
}

/** The address a napi External holds, as Node's inspector prints it. */
function externalAddress(ext: unknown): Ptr | null {
  const m = /^\[External: ([0-9a-f]+)\]$/.exec(inspect(ext));
  return m ? BigInt(`0x${m[1]}`) : null;
}

/** A tensor over host memory made by cpuTensor. */
export interface HostValue {
  value: Ptr;
  memory: unknown;
  read(): Int32Array | Float32Array;
}

export class OrtCApi {
  private fns = new Map<Name, Fn>();
  private readonly koffi: Koffi;
  private readonly api: unknown;
  readonly env: Ptr;
  private cpuInfo: Ptr | null = null;

  private static instance: OrtCApi | null = null;
  static get(): OrtCApi {
    if (!OrtCApi.instance) OrtCApi.instance = new OrtCApi();
    return OrtCApi.instance;
  }

  private constructor() {
    this.koffi = requireHere()('koffi') as Koffi;
    // ORT's session creation and runs go deeper than koffi's default call stacks (2 MiB, 128 KiB when async).
    // Settable only before koffi loads its first library; another user of koffi may have done so first.
    try {
      this.koffi.config({ ...this.koffi.config(), sync_stack_size: 16 << 20, async_stack_size: 16 << 20 });
    } catch {
      /* the defaults stay */
    }
    const lib = this.koffi.load(ortLibrary());
    const base = lib.func('void* OrtGetApiBase()')() as Ptr;
    const getApi = this.koffi.decode(this.koffi.decode(base, 0, 'void*'), this.koffi.proto('void* OrtGetApi(uint32_t version)')) as Fn;
    this.api = getApi(API_VERSION);
    if (!this.api) throw new Error(`this ONNX Runtime does not offer C API version ${API_VERSION}`);
    // The env is a process-wide singleton inside ORT: this returns the one onnxruntime-node made, or makes the
    // one it will find (webgpu-context.ts opens the first WebGPU session here), at ortLogLevel().
    this.env = this.out('CreateEnv', ortLogLevel(), 'graft-capi');
  }

  private fn(name: Name): Fn {
    let f = this.fns.get(name);
    if (!f) {
      const [index, proto] = TABLE[name];
      const ptr = this.koffi.decode(this.api, index * 8, 'void*');
      f = this.koffi.decode(ptr, this.koffi.proto(proto)) as Fn;
      this.fns.set(name, f);
    }
    return f;
  }

  /** Calls a status-returning function; throws with ORT's message when it fails. */
  call(name: Name, ...args: unknown[]): void {
    this.check(name, this.fn(name)(...args) as Ptr | null);
  }

  private check(name: Name, status: Ptr | null): void {
    if (status) {
      const message = this.fn('GetErrorMessage')(status) as string;
      this.fn('ReleaseStatus')(status);
      throw new Error(`ONNX Runtime ${name}: ${message}`);
    }
  }

  /** Calls a function whose last parameter is an out-pointer; returns what it wrote. */
  out(name: Name, ...args: unknown[]): Ptr {
    const box: unknown[] = [null];
    this.call(name, ...args, box);
    return box[0] as Ptr;
  }

  release(
    name: 'ReleaseSession' | 'ReleaseValue' | 'ReleaseIoBinding' | 'ReleaseRunOptions' | 'ReleaseSessionOptions',
    p: Ptr | null,
  ): void {
    if (p) this.fn(name)(p);
  }

  /**
   * A WebGPU session over a saved model (a path) or a small one's bytes, CPU fallback disabled. The EP shares
   * the process's WebGPU device with onnxruntime-node's sessions (one context per process), so buffers move
   * between them by address.
   */
  webgpuSession(
    model: string | Uint8Array,
    epOptions: Record<string, string>,
    // initializers: by name, caller-owned OrtValues on the session's device (aliasOf) that ORT uses as they are;
    // each must outlive the session.
    opts: { optimization?: 'basic' | 'all'; keepConstants?: boolean; initializers?: Record<string, Ptr> } = {},
  ): Ptr {
    const so = this.out('CreateSessionOptions');
    try {
      for (const [name, value] of Object.entries(opts.initializers ?? {})) this.call('AddInitializer', so, name, value);
      this.call('SetSessionGraphOptimizationLevel', so, opts.optimization === 'basic' ? 1 : 99);
      this.call('SetSessionLogSeverityLevel', so, ortLogLevel());
      // as session.ts: a node the EP cannot run is an error, never a silent fallback to the CPU
      this.call('AddSessionConfigEntry', so, 'session.disable_cpu_ep_fallback', '1');
      if (opts.keepConstants) this.call('AddSessionConfigEntry', so, 'optimization.disable_specified_optimizers', 'ConstantFolding');
      const keys = Object.keys(epOptions);
      this.call(
        'SessionOptionsAppendExecutionProvider',
        so,
        'WebGPU',
        keys,
        keys.map((k) => epOptions[k]),
        keys.length,
      );
      // On this thread, never a worker: the EP shares one WebGPU device and command encoder with
      // onnxruntime-node's sessions, and creating a session uploads the weights through them (a creation on
      // a worker thread beside a run corrupted the encoder on the H200: "CommandEncoder already finished").
      return typeof model === 'string'
        ? this.out('CreateSession', this.env, model, so)
        : this.out('CreateSessionFromArray', this.env, model, model.byteLength, so);
    } finally {
      this.release('ReleaseSessionOptions', so);
    }
  }

  /**
   * An OrtValue over host memory allocated here, holding `values` (or zeros: an output whose read() copies
   * out what a run wrote). freeHost releases both once no binding holds them.
   */
  cpuTensor(dtype: 'int32' | 'float32', shape: readonly number[], values?: Int32Array | Float32Array): HostValue {
    this.cpuInfo ??= this.out('CreateCpuMemoryInfo', 0, 0);
    const count = Math.max(
      1,
      shape.reduce((a, b) => a * b, 1),
    );
    const c = dtype === 'int32' ? 'int32_t' : 'float';
    const memory = this.koffi.alloc(c, count);
    this.koffi.encode(memory, c, values ? Array.from(values) : new Array<number>(count).fill(0), count);
    const value = this.tensor(this.cpuInfo, this.koffi.address(memory), dtype, shape);
    const read = () => (dtype === 'int32' ? Int32Array : Float32Array).from(this.koffi.decode(memory, c, count) as ArrayLike<number>);
    return { value, memory, read };
  }

  freeHost(v: HostValue): void {
    this.release('ReleaseValue', v.value);
    this.koffi.free(v.memory);
  }

  private tensor(info: Ptr, data: Ptr, dtype: DType, shape: readonly number[]): Ptr {
    const type = ELEMENT[dtype];
    if (type === undefined) throw new Error(`no ONNX element type for ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const dims = BigInt64Array.from(shape.map((d) => BigInt(d)));
    return this.out('CreateTensorWithDataAsOrtValue', info, data, count * BYTES[dtype]!, dims, shape.length, type);
  }

  /**
   * The OrtValue behind a GPU tensor of onnxruntime-node (its `gpuBuffer` is a napi External over the
   * OrtValue). Node's inspector prints an External's address: the OrtValue itself, or (Node 20's napi) a
   * wrapper whose second word is it. The candidate taken must be a tensor of the expected element type
   * and count, so a layout this code does not know is an error, never a wrong buffer.
   */
  ortValueOf(gpuBuffer: unknown, dtype: DType, count: number): Ptr {
    const addr = externalAddress(gpuBuffer);
    if (addr === null) throw new Error('cannot read the address of a GPU tensor handle');
    for (const candidate of [addr, this.koffi.decode(addr, 8, 'uint64_t') as bigint]) {
      if (candidate && this.describes(candidate, dtype, count)) return candidate;
    }
    throw new Error(
      `no ${dtype}[${count}] tensor found behind a GPU tensor handle (an onnxruntime-node or Node version this code does not know)`,
    );
  }

  private describes(value: Ptr, dtype: DType, count: number): boolean {
    const isTensor = [0];
    this.call('IsTensor', value, isTensor);
    if (!isTensor[0]) return false;
    const info = this.out('GetTensorTypeAndShape', value);
    try {
      const type = [0];
      const n = [0];
      this.call('GetTensorElementType', info, type);
      this.call('GetTensorShapeElementCount', info, n);
      return type[0] === ELEMENT[dtype] && Number(n[0]) === count;
    } finally {
      this.fn('ReleaseTensorTypeAndShapeInfo')(info);
    }
  }

  /** A second OrtValue over the buffer of `value` (a device tensor), owned by the caller, not by ORT's allocator. */
  aliasOf(value: Ptr, dtype: DType, shape: readonly number[]): Ptr {
    const info = this.out('GetTensorMemoryInfo', value);
    const data = this.out('GetTensorMutableData', value);
    return this.tensor(info, data, dtype, shape);
  }

  binding(session: Ptr): Ptr {
    return this.out('CreateIoBinding', session);
  }

  runOptions(entries: Record<string, string>): Ptr {
    const ro = this.out('CreateRunOptions');
    for (const [k, v] of Object.entries(entries)) this.call('AddRunConfigEntry', ro, k, v);
    return ro;
  }
}
