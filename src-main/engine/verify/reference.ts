/**
 * Checks the engine against a folder of PyTorch + PEFT goldens laid out like
 * shared/fixtures/hf-reference/<arch>/: base, LoRA and merged logits, the LoRA loss and every LoRA
 * gradient, and greedy continuations through the KV-cache path. Works for any model size, rank,
 * alpha and sequence length: everything is read from the folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readAdapterWeights } from '../adapters/compat.js';
import { mergedWeights } from '../adapters/merge-weights.js';
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../adapters/row-lora.js';
import { GraftError } from '../errors.js';
import { openSafetensors } from '../io/safetensors.js';
import { computeLogits } from '../infer/logits.js';
import { KvDecoder } from '../infer/kv-decoder.js';
import { loadModel, type LoadedModel } from '../model.js';
import { resolveDevice, type DeviceInfo, type DevicePref } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { causalMask, positionRange } from '../models/decoder-inputs.js';
import { shiftLabels } from '../train/loss.js';
import { buildStepGraph, FLAT, flatten, unflatten } from '../train/step-graph.js';

/** The tolerances of shared/README.md for fp32 against the goldens. */
export const TOLERANCES = { logits: 1e-3, loss: 1e-4, gradRel: 1e-3 };

export interface ReferenceReport {
  base_logits_max_abs: number;
  lora_logits_max_abs: number;
  merged_logits_max_abs: number;
  loss_abs: number;
  grad_max_rel: number;
  grad_worst: string;
  base_greedy_equal: boolean;
  lora_greedy_equal: boolean;
  device: string;
  ok: boolean;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
};

async function greedy(model: LoadedModel, device: DeviceInfo, rows: RowAdapter[][], prompt: number[], steps: number): Promise<number[][]> {
  const layout = layoutFor(rows);
  // fp32: the goldens are PyTorch's fp32 (the GPU's default fp16 graph is checked against this one in fused-half.test.ts)
  const dec = new KvDecoder(model, { device, rows: rows.length, capacity: Math.ceil((prompt.length + steps) / 16) * 16, lora: layout, precision: 'fp32' });
  if (layout) await dec.setLora(rowLoraFeeds(model.spec, layout, rows));
  const V = model.spec.vocab;
  const out = rows.map(() => [...prompt]);
  try {
    let logits = await dec.prefill(rows.map(() => prompt));
    for (let s = 0; s < steps; s++) {
      const next = rows.map((_, b) => {
        let best = 0;
        for (let i = 1; i < V; i++) if (logits[b * V + i] > logits[b * V + best]) best = i;
        return best;
      });
      next.forEach((t, b) => out[b].push(t));
      if (s + 1 < steps) logits = await dec.decode(next);
    }
  } finally {
    await dec.dispose();
  }
  return out;
}

type GradFile = ReturnType<typeof openSafetensors>;

/**
 * Each trainable tensor's gradient (ours summed over `count` target tokens, the golden a mean) against the
 * golden's, as relative L2 error; the worst one and its name. A missing golden gradient is an error.
 */
export function compareGrads(params: readonly string[], ours: (p: string) => ArrayLike<number>, grads: GradFile, count: number, refNameOf: (p: string) => string): { gradMaxRel: number; gradWorst: string } {
  let gradMaxRel = 0;
  let gradWorst = '';
  for (const p of params) {
    const refName = refNameOf(p);
    if (!grads.has(refName)) throw new GraftError('NOT_FOUND', `${grads.path}: gradient ${refName} is missing`, { file: grads.path, where: refName });
    const want = grads.readF32(refName);
    const got = ours(p);
    let d2 = 0;
    let n2 = 0;
    for (let i = 0; i < want.length; i++) {
      d2 += (got[i] / count - want[i]) ** 2;
      n2 += want[i] ** 2;
    }
    const rel = Math.sqrt(d2) / Math.max(Math.sqrt(n2), 1e-30);
    if (rel >= gradMaxRel) [gradMaxRel, gradWorst] = [rel, p];
  }
  return { gradMaxRel, gradWorst };
}

export async function verifyReference(dir: string, pref: DevicePref = 'cpu'): Promise<ReferenceReport> {
  const device = await resolveDevice(pref);
  const model = await loadModel(path.join(dir, 'model'));
  const adapter = readAdapterWeights(path.join(dir, 'adapter'));
  const ref = openSafetensors(path.join(dir, 'reference.safetensors'));
  const grads = openSafetensors(path.join(dir, 'lora_grads.safetensors'));
  const expectedFile = path.join(dir, 'expected.json');
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as { prompt_for_greedy: number[]; base_greedy: number[]; lora_greedy: number[] };
  const [B, T] = ref.info('input_ids').shape;
  const ids = ref.readInts('input_ids');
  const rows = Array.from({ length: B }, (_, b) => ids.slice(b * T, (b + 1) * T));

  const base = await computeLogits(model, rows, { device: pref });
  const merged = await computeLogits(model, rows, { device: pref, overrides: mergedWeights(model, adapter) });

  // LoRA logits, loss and gradients come from the training graph itself.
  const lora = { r: adapter.r, alpha: adapter.alpha, dropout: 0, rslora: adapter.rslora, targets: adapter.targets };
  const sg = buildStepGraph({ spec: model.spec, source: model.source, lora, batch: B, seq: T, purpose: 'grads', logits: true });
  const session = await GraphSession.create(sg.graph, { device });
  const sh = shiftLabels(Int32Array.from(ref.readInts('labels')), B, T);
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: 'int32', shape: [B, T], data: Int32Array.from(ids) },
    positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
    attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
    targets: { dtype: 'int32', shape: [B * T], data: sh.targets },
    target_weights: { dtype: 'float32', shape: [B * T], data: sh.weights },
  };
  feeds[FLAT] = { dtype: 'float32', shape: [sg.size], data: flatten(sg.layout, sg.size, (n) => adapter.tensors.get(n)) };
  const out = await session.run(feeds);
  await session.release();
  const ourGrads = unflatten(sg.layout, (out.grad as HostTensor).data as Float32Array);
  const loss = ((out.loss_sum as HostTensor).data[0] as number) / sh.count;

  const { gradMaxRel, gradWorst } = compareGrads(sg.params, (p) => ourGrads.get(p)!.data, grads, sh.count, (p) => p.replace(/^base_model\.model\./, ''));


  const prompt = expected.prompt_for_greedy;
  const [gBase, gLora] = await greedy(model, device, [[], [{ weights: adapter, scale: 1 }]], prompt, expected.base_greedy.length - prompt.length);
  const report: Omit<ReferenceReport, 'ok'> = {
    base_logits_max_abs: maxAbs(base, ref.readF32('base_logits')),
    lora_logits_max_abs: maxAbs((out.logits as HostTensor).data as Float32Array, ref.readF32('lora_logits')),
    merged_logits_max_abs: maxAbs(merged, ref.readF32('merged_logits')),
    loss_abs: Math.abs(loss - ref.readF32('loss')[0]),
    grad_max_rel: gradMaxRel,
    grad_worst: gradWorst,
    base_greedy_equal: JSON.stringify(gBase) === JSON.stringify(expected.base_greedy),
    lora_greedy_equal: JSON.stringify(gLora) === JSON.stringify(expected.lora_greedy),
    device: `${device.ep} (${device.name})`,
  };
  model.source.close();
  const ok =
    report.base_logits_max_abs <= TOLERANCES.logits &&
    report.lora_logits_max_abs <= TOLERANCES.logits &&
    report.merged_logits_max_abs <= TOLERANCES.logits &&
    report.loss_abs <= TOLERANCES.loss &&
    report.grad_max_rel <= TOLERANCES.gradRel &&
    report.base_greedy_equal &&
    report.lora_greedy_equal;
  return { ...report, ok };
}
