/**
 * Which execution provider runs the engine and what to call it in the UI. `gpu` means, in order: the
 * CUDA EP where its provider libraries were installed (an opt-in, see the README), ONNX Runtime's
 * WebGPU EP (Vulkan on Linux, D3D12 on Windows, Metal on macOS), DirectML on Windows; `auto` takes the
 * first that creates a session and falls back to the CPU EP otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { DevicePref } from './device-pref.js';
import { buildProbeModel } from './probe-model.js';
import { holdWebGpuContext } from './webgpu-context.js';

export { DEVICE_PREFS, type DevicePref } from './device-pref.js';
export type DeviceKind = 'cpu' | 'webgpu' | 'cuda' | 'dml';

export interface DeviceInfo {
  kind: DeviceKind;
  /** CPU model or GPU name, for the status bar. */
  name: string;
  /** The ONNX Runtime execution provider in use. */
  ep: string;
}


const probes = new Map<string, Promise<string | null>>();

/** Resolves to the EP's error message, or null when a session could be created on it alone. */
function probe(ep: 'webgpu' | 'cuda' | 'dml'): Promise<string | null> {
  let p = probes.get(ep);
  if (!p) {
    p = (async () => {
      try {
        // The process's WebGPU context is made first with the engine's options (webgpu-context.ts); the
        // probe's own session would otherwise make it with the binding's defaults.
        if (ep === 'webgpu') holdWebGpuContext();
        const s = await ort.InferenceSession.create(buildProbeModel(), {
          executionProviders: [ep],
          extra: { session: { disable_cpu_ep_fallback: '1' } },
        });
        await s.release();
        return null;
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    })();
    probes.set(ep, p);
  }
  return p;
}

export function probeWebGpu(): Promise<string | null> {
  return probe('webgpu');
}

/** The CUDA EP is there only when its provider library was installed beside onnxruntime-node's binding. */
function cudaInstalled(): boolean {
  if (process.platform !== 'linux' && process.platform !== 'win32') return false;
  try {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    return readdirSync(dir).some((f) => f.includes('onnxruntime_providers_cuda'));
  } catch {
    return false;
  }
}

/** Linux with no render node and no NVIDIA driver: the only Vulkan device is Mesa's software rasterizer. */
function softwareOnly(): boolean {
  if (process.platform !== 'linux') return false;
  if (existsSync('/proc/driver/nvidia/gpus')) return false;
  return !(existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('render')));
}

function cpuName(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() || os.arch();
  return `${model} (${cpus.length} threads)`;
}

/** Best effort: the GPU's name where the OS tells it without extra tools. */
function gpuName(): string {
  try {
    const dir = '/proc/driver/nvidia/gpus';
    if (existsSync(dir)) {
      for (const bus of readdirSync(dir)) {
        const m = /Model:\s*(.+)/.exec(readFileSync(`${dir}/${bus}/information`, 'utf8'));
        if (m) return m[1].trim();
      }
    }
    const name = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .split('\n')[0]
      .trim();
    if (name) return name;
  } catch {
    // no NVIDIA tools: fall through
  }
  if (softwareOnly()) return 'lavapipe (software Vulkan)';
  return process.platform === 'darwin' ? 'Apple GPU (Metal)' : 'GPU (WebGPU)';
}

const resolved = new Map<DevicePref, Promise<DeviceInfo>>();

/**
 * The device a preference resolves to. Resolved once per process and preference: every graph builder
 * asks, and naming the GPU can mean running nvidia-smi.
 */
export function resolveDevice(pref: DevicePref = 'auto'): Promise<DeviceInfo> {
  let d = resolved.get(pref);
  if (!d) resolved.set(pref, (d = resolveUncached(pref)));
  return d;
}

async function resolveUncached(pref: DevicePref): Promise<DeviceInfo> {
  if (pref === 'cpu') return { kind: 'cpu', name: cpuName(), ep: 'cpu' };
  // Linux without a render node has only a software rasterizer: auto skips the (slow) probe.
  if (pref === 'auto' && softwareOnly()) return { kind: 'cpu', name: cpuName(), ep: 'cpu' };
  if (cudaInstalled() && (await probe('cuda')) === null) return { kind: 'cuda', name: gpuName(), ep: 'cuda' };
  const err = await probeWebGpu();
  const name = err === null ? gpuName() : '';
  // A software rasterizer is slower than the CPU EP: take it only when asked for by name.
  if (err === null && (pref === 'gpu' || !name.startsWith('lavapipe'))) return { kind: 'webgpu', name, ep: 'webgpu' };
  if (process.platform === 'win32' && (await probe('dml')) === null) return { kind: 'dml', name: 'DirectML GPU', ep: 'dml' };
  if (pref === 'gpu') throw new Error(`no WebGPU adapter is available: ${err}`);
  return { kind: 'cpu', name: cpuName(), ep: 'cpu' };
}

/** For the UI: never throws; a GPU request that cannot be met reports the CPU it will use instead. */
export async function describeDevice(pref: DevicePref = 'auto'): Promise<DeviceInfo> {
  try {
    return await resolveDevice(pref);
  } catch {
    return resolveDevice('cpu');
  }
}
