/**
 * GPU memory used by THIS process, read through Vulkan's memory-budget extension (VK_EXT_memory_budget)
 * from inside the process that runs ONNX Runtime's WebGPU EP (Dawn on Vulkan). nvidia-smi does not show
 * Vulkan allocations on the GPU machine; the spec defines heapUsage as the calling process's usage of
 * each heap, so sampling it here measures Graft's own buffers. libvulkan is called through koffi (a
 * dev dependency, loaded only when a probe is opened: the bundle keeps it external).
 *
 * Opened on its own VkInstance; no VkDevice is created, so the probe allocates nothing on the GPU.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, workerData } from 'node:worker_threads';
import type { LibraryHandle, TypeObject } from 'koffi';

/** Vulkan's constants (vulkan_core.h). */
const VK_STRUCTURE_TYPE_APPLICATION_INFO = 0;
const VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO = 1;
const VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2 = 1000059006;
const VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT = 1000237000;
const VK_MAX_MEMORY_TYPES = 32;
const VK_MAX_MEMORY_HEAPS = 16;
const VK_MEMORY_HEAP_DEVICE_LOCAL_BIT = 1;
const VK_API_VERSION_1_1 = (1 << 22) | (1 << 12);
const VK_SUCCESS = 0;
const VK_INCOMPLETE = 5;
const DEVICE_TYPES = ['other', 'integrated-gpu', 'discrete-gpu', 'virtual-gpu', 'cpu'];

export interface GpuMemoryDevice {
  name: string;
  type: string;
  /** Sizes of the device-local heaps, bytes. */
  deviceLocalHeaps: number[];
  /**
   * VkPhysicalDeviceLimits.maxStorageBufferRange: the largest storage binding the driver allows. ORT's
   * WebGPU EP binds a larger tensor as several segments, at most 16 buffers per shader in all.
   */
  maxStorageBufferRange: number;
}

export interface GpuMemoryProbe {
  device: GpuMemoryDevice;
  /**
   * Whose memory heapUsage counts: the process's (the spec's definition, and NVIDIA's), or, on a CPU
   * device such as lavapipe, the whole machine's used RAM (seen: it tracks `free`'s used column).
   */
  scope: 'process' | 'system';
  /** Bytes this process uses on the device-local heaps now (sum of heapUsage). */
  sample(): number;
  /** What the driver says this process could use on those heaps now (sum of heapBudget). */
  budget(): number;
  close(): void;
}

/** Why no probe could be opened (no Vulkan loader, no device, no VK_EXT_memory_budget): said, never a silent 0. */
export class GpuMemoryUnavailable extends Error {}

type Koffi = typeof import('koffi');

async function loadKoffi(): Promise<Koffi> {
  try {
    // require, not import(): the GPU machine's bundle finds koffi through NODE_PATH, which only require reads.
    const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
    return createRequire(here)('koffi') as Koffi;
  } catch (e) {
    throw new GpuMemoryUnavailable(`koffi (the FFI the probe calls libvulkan through) is not installed: ${(e as Error).message}`);
  }
}

/** The structs, declared once per process (koffi's type names are global). */
let declared: { MemoryProperties2: TypeObject; Budget: TypeObject } | null = null;
function vkTypes(koffi: Koffi) {
  if (declared) return declared;
  const ptr = 'void *';
  koffi.struct('VkApplicationInfo', {
    sType: 'uint32',
    pNext: ptr,
    pApplicationName: 'const char *',
    applicationVersion: 'uint32',
    pEngineName: 'const char *',
    engineVersion: 'uint32',
    apiVersion: 'uint32',
  });
  koffi.struct('VkInstanceCreateInfo', {
    sType: 'uint32',
    pNext: ptr,
    flags: 'uint32',
    pApplicationInfo: 'VkApplicationInfo *',
    enabledLayerCount: 'uint32',
    ppEnabledLayerNames: ptr,
    enabledExtensionCount: 'uint32',
    ppEnabledExtensionNames: ptr,
  });
  const MemoryType = koffi.struct('VkMemoryType', { propertyFlags: 'uint32', heapIndex: 'uint32' });
  const MemoryHeap = koffi.struct('VkMemoryHeap', { size: 'uint64', flags: 'uint32' });
  const MemoryProperties = koffi.struct('VkPhysicalDeviceMemoryProperties', {
    memoryTypeCount: 'uint32',
    memoryTypes: koffi.array(MemoryType, VK_MAX_MEMORY_TYPES),
    memoryHeapCount: 'uint32',
    memoryHeaps: koffi.array(MemoryHeap, VK_MAX_MEMORY_HEAPS),
  });
  const MemoryProperties2 = koffi.struct('VkPhysicalDeviceMemoryProperties2', { sType: 'uint32', pNext: ptr, memoryProperties: MemoryProperties });
  const Budget = koffi.struct('VkPhysicalDeviceMemoryBudgetPropertiesEXT', {
    sType: 'uint32',
    pNext: ptr,
    heapBudget: koffi.array('uint64', VK_MAX_MEMORY_HEAPS),
    heapUsage: koffi.array('uint64', VK_MAX_MEMORY_HEAPS),
  });
  // The spec's sizes on LP64: a wrong layout would read garbage, so it is checked, not assumed.
  const sizes = { MemoryProperties: [koffi.sizeof(MemoryProperties), 520], MemoryProperties2: [koffi.sizeof(MemoryProperties2), 536], Budget: [koffi.sizeof(Budget), 272] };
  for (const [k, [got, want]] of Object.entries(sizes)) if (got !== want) throw new Error(`gpu-memory: ${k} is ${got} bytes, Vulkan's is ${want}`);

  return (declared = { MemoryProperties2, Budget });
}

/** Opens a probe on the physical device with the largest device-local heap (the discrete GPU where there is one). */
export async function openGpuMemoryProbe(): Promise<GpuMemoryProbe> {
  const koffi = await loadKoffi();
  let lib: LibraryHandle;
  try {
    lib = koffi.load('libvulkan.so.1');
  } catch (e) {
    throw new GpuMemoryUnavailable(`no Vulkan loader (libvulkan.so.1): ${(e as Error).message}`);
  }
  const { MemoryProperties2, Budget } = vkTypes(koffi);

  const vkCreateInstance = lib.func('int32 vkCreateInstance(const VkInstanceCreateInfo *info, void *alloc, _Out_ void **instance)');
  const vkDestroyInstance = lib.func('void vkDestroyInstance(void *instance, void *alloc)');
  const vkEnumeratePhysicalDevices = lib.func('int32 vkEnumeratePhysicalDevices(void *instance, _Inout_ uint32 *count, void *devices)');
  // VkPhysicalDeviceProperties is large; read: apiVersion (offset 0), deviceType (16), deviceName (20, char[256]), and
  // from VkPhysicalDeviceLimits (at 296: after pipelineCacheUUID[16], aligned to 8) maxStorageBufferRange (its 8th uint32).
  const vkGetPhysicalDeviceProperties = lib.func('void vkGetPhysicalDeviceProperties(void *dev, void *props)');
  const vkEnumerateDeviceExtensionProperties = lib.func('int32 vkEnumerateDeviceExtensionProperties(void *dev, const char *layer, _Inout_ uint32 *count, void *props)');
  const vkGetPhysicalDeviceMemoryProperties2 = lib.func('void vkGetPhysicalDeviceMemoryProperties2(void *dev, void *props)');

  const app = { sType: VK_STRUCTURE_TYPE_APPLICATION_INFO, pNext: null, pApplicationName: 'graft-gpu-memory', applicationVersion: 1, pEngineName: 'graft', engineVersion: 1, apiVersion: VK_API_VERSION_1_1 };
  const info = { sType: VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, pNext: null, flags: 0, pApplicationInfo: app, enabledLayerCount: 0, ppEnabledLayerNames: null, enabledExtensionCount: 0, ppEnabledExtensionNames: null };
  // Stable native memory for the chained structs: pNext holds the budget struct's address.
  const props2 = koffi.alloc(MemoryProperties2, 1);
  const budget = koffi.alloc(Budget, 1);
  const out = [null];
  const rc = vkCreateInstance(info, null, out);
  if (rc !== VK_SUCCESS || !out[0]) throw new GpuMemoryUnavailable(`vkCreateInstance failed (VkResult ${rc}): no Vulkan driver`);
  const instance = out[0];
  let chosen: { handle: bigint; device: GpuMemoryDevice; heaps: number[] } | null = null;
  try {
    const count = [0];
    vkEnumeratePhysicalDevices(instance, count, null);
    if (count[0] === 0) throw new GpuMemoryUnavailable('Vulkan lists no physical device');
    const handles = new BigUint64Array(count[0]);
    const r = vkEnumeratePhysicalDevices(instance, count, handles);
    if (r !== VK_SUCCESS && r !== VK_INCOMPLETE) throw new GpuMemoryUnavailable(`vkEnumeratePhysicalDevices failed (VkResult ${r})`);
    const skipped: string[] = [];
    for (const h of handles.subarray(0, count[0])) {
      const props = Buffer.alloc(1024);
      vkGetPhysicalDeviceProperties(h, props);
      const name = props.toString('utf8', 20, 276).replace(/\0.*$/s, '');
      const api = props.readUInt32LE(0);
      const exts = extensionNames(h);
      if (api < VK_API_VERSION_1_1 || !exts.has('VK_EXT_memory_budget')) {
        skipped.push(`${name} (${api < VK_API_VERSION_1_1 ? 'Vulkan 1.0' : 'no VK_EXT_memory_budget'})`);
        continue;
      }
      const mp = memoryProperties(h).mp;
      const heaps = mp.memoryHeaps.slice(0, mp.memoryHeapCount).flatMap((x: any, i: number) => (x.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT ? [i] : []));
      const sizesOf = heaps.map((i: number) => Number(mp.memoryHeaps[i].size));
      const device = { name, type: DEVICE_TYPES[props.readUInt32LE(16)] ?? 'unknown', deviceLocalHeaps: sizesOf, maxStorageBufferRange: props.readUInt32LE(296 + 28) };
      if (!chosen || Math.max(0, ...sizesOf) > Math.max(0, ...chosen.device.deviceLocalHeaps)) chosen = { handle: h, device, heaps };
    }
    if (!chosen) throw new GpuMemoryUnavailable(`no Vulkan device reports VK_EXT_memory_budget: ${skipped.join(', ')}`);
  } catch (e) {
    koffi.free(props2);
    koffi.free(budget);
    vkDestroyInstance(instance, null);
    throw e;
  }

  function extensionNames(h: bigint): Set<string> {
    const n = [0];
    vkEnumerateDeviceExtensionProperties(h, null, n, null);
    const buf = Buffer.alloc(n[0] * 260); // VkExtensionProperties: char extensionName[256]; uint32 specVersion
    vkEnumerateDeviceExtensionProperties(h, null, n, buf);
    return new Set(Array.from({ length: n[0] }, (_, i) => buf.toString('utf8', i * 260, i * 260 + 256).replace(/\0.*$/s, '')));
  }

  function memoryProperties(h: bigint): { mp: any; b: any } {
    koffi.encode(budget, Budget, { sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT, pNext: null, heapBudget: new Array(16).fill(0), heapUsage: new Array(16).fill(0) });
    koffi.encode(props2, MemoryProperties2, { sType: VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, pNext: budget, memoryProperties: { memoryTypeCount: 0, memoryTypes: [], memoryHeapCount: 0, memoryHeaps: [] } });
    vkGetPhysicalDeviceMemoryProperties2(h, props2);
    return { mp: koffi.decode(props2, MemoryProperties2).memoryProperties, b: koffi.decode(budget, Budget) };
  }
  const sum = (key: 'heapUsage' | 'heapBudget') => {
    const b = memoryProperties(chosen.handle).b;
    return chosen.heaps.reduce((s, i) => s + Number(b[key][i]), 0);
  };
  let open = true;
  return {
    device: chosen.device,
    scope: chosen.device.type === 'cpu' ? 'system' : 'process',
    sample: () => sum('heapUsage'),
    budget: () => sum('heapBudget'),
    close: () => {
      if (!open) return;
      open = false;
      koffi.free(props2);
      koffi.free(budget);
      vkDestroyInstance(instance, null);
    },
  };
}

/**
 * A sampler in a worker thread of this process: onnxruntime-node runs a session on the main thread, so a
 * timer there never fires during a step, when the transient tensors exist. heapUsage is the process's,
 * so the thread reads the same figure; it keeps the peak and the latest sample in shared memory.
 * `script` and `argv` start the thread in `samplerThreadMain` (the bench bundle's own entry point).
 */
export function startSamplerThread(script: string, argv: string[], everyMs = 20) {
  const shared = new SharedArrayBuffer(3 * 8);
  const view = new Float64Array(shared); // [peak, latest, samples]
  let error: string | null = null;
  const w = new Worker(script, { argv, workerData: { shared, everyMs } });
  w.on('error', (e) => (error = e.message));
  w.unref();
  return { peak: () => view[0], samples: () => view[2], error: () => error, stop: () => void w.terminate() };
}

/** The sampler thread's body (see startSamplerThread). */
export async function samplerThreadMain(): Promise<void> {
  const { shared, everyMs } = workerData as { shared: SharedArrayBuffer; everyMs: number };
  const view = new Float64Array(shared);
  const probe = await openGpuMemoryProbe();
  for (;;) {
    const v = probe.sample();
    view[1] = v;
    if (v > view[0]) view[0] = v;
    view[2]++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Samples every `everyMs` (and on demand) and keeps the peak; the baseline is the first sample. With a
 * sampler thread (startSamplerThread) its peak, taken while the main thread is inside ORT, counts too.
 */
export function peakSampler(probe: GpuMemoryProbe, everyMs = 50, thread?: ReturnType<typeof startSamplerThread>) {
  const baseline = probe.sample();
  let peak = baseline;
  const marks: { label: string; bytes: number }[] = [];
  const take = () => {
    const v = probe.sample();
    peak = Math.max(peak, v, thread?.peak() ?? 0);
    return v;
  };
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    baseline,
    /** A sample with a name (before/after session creation, after each step), kept in `marks`. */
    mark(label: string) {
      const bytes = take();
      marks.push({ label, bytes });
      return bytes;
    },
    peak: () => Math.max(peak, take()),
    marks,
    stop() {
      clearInterval(timer);
      take();
      thread?.stop();
      return { baseline, peak, marks, thread: thread ? { samples: thread.samples(), peak: thread.peak(), error: thread.error() } : null };
    },
  };
}

/**
 * The probe's own check: a WebGPU session holding one `bytes`-sized initializer (a table read by Gather,
 * so it must live on the device) should raise the sampled usage by about that much.
 */
export async function initializerDelta(probe: GpuMemoryProbe, bytes = 256 * 2 ** 20): Promise<{ bytes: number; before: number; after: number; delta: number; ratio: number }> {
  const [{ Graph }, op, { GraphSession }, { resolveDevice }] = await Promise.all([
    import('../src-main/engine/graph/ir.js'),
    import('../src-main/engine/ops/index.js'),
    import('../src-main/engine/runtime/session.js'),
    import('../src-main/engine/runtime/device.js'),
  ]);
  const device = await resolveDevice('gpu');
  const cols = 1024;
  const rows = Math.ceil(bytes / 4 / cols);
  const g = new Graph('memory-probe');
  // Distinct rows (row r holds r), so nothing could share or skip storage of a constant-filled table.
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) data.fill(r, r * cols, (r + 1) * cols);
  const table = g.init('table', { dtype: 'float32', shape: [rows, cols], data });
  g.output(op.gather(g, table, g.input('ids', 'int32', [2])), 'rows');
  const before = probe.sample();
  const s = await GraphSession.create(g, { device });
  const out = await s.run({ ids: { dtype: 'int32', shape: [2], data: Int32Array.of(3, rows - 1) } });
  const after = probe.sample();
  const got = (out.rows as { data: Float32Array }).data;
  await s.release();
  if (got[0] !== 3 || got[cols] !== rows - 1) throw new Error(`memory probe session read rows ${got[0]}, ${got[cols]}`);
  return { bytes: rows * cols * 4, before, after, delta: after - before, ratio: (after - before) / (rows * cols * 4) };
}
