/**
 * `verify-reference` for the PEFT methods beyond plain LoRA (DoRA, IA³, prefix tuning), against folders laid
 * out like shared/fixtures/peft-methods/<method>-<arch>/: the method is read from adapter/adapter_config.json,
 * the adapter logits, loss and every trainable tensor's gradient come from the training graph itself, the
 * merged logits (DoRA, IA³) from the exact merge, and greedy ids from the adapter graph.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { prefixCausalMask } from '../adapters/method.js';
import { peftMethodKind, readMethodFolder, readPeftConfig } from '../adapters/method-folder.js';
import { PREFIX_TENSOR } from '../adapters/prefix.js';
import { computeLogits } from '../infer/logits.js';
import { methodGreedy } from '../infer/method-logits.js';
import { openSafetensors } from '../io/safetensors.js';
import { loadModel } from '../model.js';
import { resolveDevice, type DevicePref } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { positionRange } from '../models/decoder-inputs.js';
import { shiftLabels } from '../train/loss.js';
import { buildStepGraph, FLAT, flatten, unflatten } from '../train/step-graph.js';
import { compareGrads, type ReferenceReport, TOLERANCES, verifyReference } from './reference.js';

export interface MethodReferenceReport {
  method: string;
  adapter_logits_max_abs: number;
  /** null where the method cannot be merged (prefix tuning). */
  merged_logits_max_abs: number | null;
  loss_abs: number;
  grad_max_rel: number;
  grad_worst: string;
  adapter_greedy_equal: boolean;
  device: string;
  ok: boolean;
}

/** The name PEFT's training-time parameter has in the fixture's grads file. */
export function gradName(peftName: string): string {
  if (peftName === PREFIX_TENSOR) return 'prompt_encoder.embedding.weight';
  const n = peftName.replace(/^base_model\.model\./, '');
  return n.endsWith('lora_magnitude_vector') ? `${n}.weight` : n;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
};

export async function verifyMethodReference(dir: string, pref: DevicePref = 'cpu'): Promise<MethodReferenceReport> {
  const device = await resolveDevice(pref);
  const model = await loadModel(path.join(dir, 'model'));
  try {
    const { method, tensors } = readMethodFolder(path.join(dir, 'adapter'), model.spec);
    const ref = openSafetensors(path.join(dir, 'reference.safetensors'));
    const grads = openSafetensors(path.join(dir, 'grads.safetensors'));
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { prompt_for_greedy: number[]; adapter_greedy: number[] };
    const [B, T] = ref.info('input_ids').shape;
    const ids = ref.readInts('input_ids');
    const P = method.virtualTokens;

    const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: { r: 1, alpha: 1, dropout: 0, rslora: false, targets: [] }, adapter: method, batch: B, seq: T, purpose: 'grads', logits: true });
    const session = await GraphSession.create(sg.graph, { device });
    const sh = shiftLabels(Int32Array.from(ref.readInts('labels')), B, T);
    const out = await session.run({
      input_ids: { dtype: 'int32', shape: [B, T], data: Int32Array.from(ids) },
      positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T, P) },
      attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, P + T], data: prefixCausalMask(B, T, P) },
      targets: { dtype: 'int32', shape: [B * T], data: sh.targets },
      target_weights: { dtype: 'float32', shape: [B * T], data: sh.weights },
      [FLAT]: { dtype: 'float32', shape: [sg.size], data: flatten(sg.layout, sg.size, (n) => tensors.get(n)) },
    });
    await session.release();
    const ours = unflatten(sg.layout, (out.grad as HostTensor).data as Float32Array);
    const { gradMaxRel, gradWorst } = compareGrads(sg.params, (p) => ours.get(p)!.data, grads, sh.count, gradName);


    const rows = Array.from({ length: B }, (_, b) => ids.slice(b * T, (b + 1) * T));
    const merge = method.merge(model.source, tensors);
    const merged = 'refused' in merge ? null : maxAbs(await computeLogits(model, rows, { device: pref, overrides: merge }), ref.readF32('merged_logits'));
    const prompt = expected.prompt_for_greedy;
    const greedy = await methodGreedy(model, method, tensors, prompt, expected.adapter_greedy.length - prompt.length, pref);
    const report = {
      method: method.kind,
      adapter_logits_max_abs: maxAbs((out.logits as HostTensor).data as Float32Array, ref.readF32('adapter_logits')),
      merged_logits_max_abs: merged,
      loss_abs: Math.abs(((out.loss_sum as HostTensor).data[0] as number) / sh.count - ref.readF32('loss')[0]),
      grad_max_rel: gradMaxRel,
      grad_worst: gradWorst,
      adapter_greedy_equal: JSON.stringify(greedy) === JSON.stringify(expected.adapter_greedy),
      device: `${device.ep} (${device.name})`,
    };
    const ok =
      report.adapter_logits_max_abs <= TOLERANCES.logits &&
      (merged === null || merged <= TOLERANCES.logits) &&
      report.loss_abs <= TOLERANCES.loss &&
      report.grad_max_rel <= TOLERANCES.gradRel &&
      report.adapter_greedy_equal;
    return { ...report, ok };
  } finally {
    model.source.close();
  }
}

/** Plain LoRA fixtures go to verifyReference, DoRA/IA³/prefix ones here: the method is read from the adapter's config. */
export async function verifyAnyReference(dir: string, pref: DevicePref = 'cpu'): Promise<ReferenceReport | MethodReferenceReport> {
  const adapter = path.join(dir, 'adapter');
  return peftMethodKind(readPeftConfig(adapter), path.join(adapter, 'adapter_config.json')) === null ? verifyReference(dir, pref) : verifyMethodReference(dir, pref);
}
