/**
 * Whether the WebGPU EP can be tested here (lavapipe in CI, a GPU elsewhere), for the tests that check a graph on
 * both EPs: the probe's error where it cannot, so a skipped test says why. GRAFT_E2E_REQUIRED=1 (CI) makes a missing
 * adapter a failure rather than a skip.
 */
import { probeWebGpu, type DevicePref } from '../../src-main/engine/runtime/device.js';

export const gpuError = await probeWebGpu();
export const gpuOk = gpuError === null || process.env.GRAFT_E2E_REQUIRED === '1';
/** '' where the WebGPU EP runs, else why its tests are skipped (to append to a test's name). */
export const gpuSkipReason = gpuError === null ? '' : ` (skipped, no WebGPU adapter: ${gpuError.slice(0, 80)})`;
export const gpuName = gpuError === null ? 'WebGPU EP' : `WebGPU EP (skipped, no adapter: ${gpuError.slice(0, 80)})`;
/** [name, device, enabled] for describe.each over the CPU EP and the WebGPU EP. */
export const EPS_UNDER_TEST: [string, DevicePref, boolean][] = [
  ['CPU EP', 'cpu', true],
  [gpuName, 'gpu', gpuOk],
];
