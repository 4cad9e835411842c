/**
 * Type-level test, checked by `tsc` (npm run typecheck), never run: every `@ts-expect-error` below must
 * stay an error, or tsc fails with "Unused '@ts-expect-error' directive".
 */
import type { DeviceInfo, GraftBridge, HandlerTable } from '../../src-main/ipc/contract';
import { defineHandlers } from '../../src-main/ipc/define';

declare const device: DeviceInfo;
// The screens' channels, which these checks are not about.
declare const others: Omit<HandlerTable, 'app.info' | 'engine.status' | 'engine.device'>;

const complete = {
  ...others,
  'app.info': () => ({ name: 'graft', version: '0.0.0', shell: 'browser' as const, platform: 'linux' }),
  'engine.status': () => ({ state: 'ready' as const }),
  'engine.device': async () => device,
};

export const ok: HandlerTable = defineHandlers(complete);

// A missing handler is a type error.
// @ts-expect-error 'engine.device' is missing
defineHandlers({ ...others, 'app.info': complete['app.info'], 'engine.status': complete['engine.status'] });

// An extra handler is a type error.
// @ts-expect-error 'engine.bogus' is not in the contract
defineHandlers({ ...complete, 'engine.bogus': () => 1 });

// A handler returning the wrong type is a type error.
// @ts-expect-error engine.device must resolve to a DeviceInfo
defineHandlers({ ...complete, 'engine.device': async () => ({ kind: 'tpu' }) });

// The renderer's side: channels, payloads and streams are checked too.
declare const bridge: GraftBridge;
export async function rendererSide(): Promise<void> {
  const r = await bridge.invoke('engine.device', { pref: 'gpu' });
  if (r.ok) {
    const d: DeviceInfo = r.value;
    void d;
  } else {
    const code: string = r.error.code;
    void code;
  }
  await bridge.invoke('app.info');
  // @ts-expect-error unknown channel
  await bridge.invoke('engine.nope');
  // @ts-expect-error 'tpu' is not a DevicePreference
  await bridge.invoke('engine.device', { pref: 'tpu' });
  // @ts-expect-error engine.device needs a payload
  await bridge.invoke('engine.device');
  // @ts-expect-error app.info takes no payload
  await bridge.invoke('app.info', 1);
  const off: () => void = bridge.subscribe('engine.status', (e) => {
    const state: 'starting' | 'ready' | 'crashed' | 'stopped' = e.state;
    void state;
  });
  off();
  // @ts-expect-error unknown stream
  bridge.subscribe('engine.nope', () => undefined);
}
