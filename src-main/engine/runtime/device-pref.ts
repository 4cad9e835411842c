/**
 * The devices a job can ask for, as a runtime list (options schemas, CLI choices and GUI selects read it) with
 * the type derived from it. Kept apart from device.ts so that importing it loads no onnxruntime.
 */
export const DEVICE_PREFS = ['auto', 'cpu', 'gpu'] as const;
export type DevicePref = (typeof DEVICE_PREFS)[number];
