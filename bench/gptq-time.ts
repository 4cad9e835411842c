/**
 * What GPTQ costs, once per base (the result is cached): seconds to sample the calibration text, to
 * run the layers and round them, beside plain round-to-nearest, for stories260K and a random-init
 * model with SmolLM2-135M's shapes. Quality is measured by test/engine/quant/perplexity.test.ts (a
 * random-init model's perplexity means nothing).
 *
 *   npx tsx bench/gptq-time.ts [--device cpu|gpu] [--rows 64]
 */
import { SMOLLM2_135M_SHAPES } from '../src-main/engine/models/random-model.js';
import { loadModel } from '../src-main/engine/model.js';
import { quantizeModelGptq, quantizeSource, sampleCalibrationRows, CALIBRATION_DEFAULTS } from '../src-main/engine/quant/index.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { arg, benchModel, commit, machine, STORIES, writeResult } from './common.js';

export async function gptqBench(pref: DevicePref, rows = CALIBRATION_DEFAULTS.rows) {
  const device = await resolveDevice(pref);
  const results = [];
  for (const [name, file] of [
    ['stories260K', async () => STORIES],
    ['smollm2-135m-shape (random init)', () => benchModel('smollm2-135m', SMOLLM2_135M_SHAPES)],
  ] as const) {
    const log = (m: string) => console.error(`${name}: ${m}`);
    log('loading');
    const model = await loadModel(await file());
    let t = performance.now();
    quantizeSource(model.source, 'int4');
    const rtn = (performance.now() - t) / 1000;
    t = performance.now();
    log(`round to nearest ${rtn.toFixed(1)} s; sampling calibration text`);
    const calib = await sampleCalibrationRows(model, { device, rows, onProgress: (d, n) => log(`calibration ${d}/${n} tokens`) });
    const calibration = (performance.now() - t) / 1000;
    t = performance.now();
    const layerTimes: number[] = [];
    await quantizeModelGptq(model, 'int4', 'fp16', {
      device,
      rows: calib,
      onProgress: (p) => {
        layerTimes.push((performance.now() - t) / 1000);
        log(`layer ${p.done}/${p.total} at ${layerTimes.at(-1)!.toFixed(1)} s`);
      },
    });
    const layers = (performance.now() - t) / 1000;
    const r = {
      model: name,
      layers: model.spec.layers,
      calibration_tokens: calib.length * calib[0].length,
      rtn_seconds: +rtn.toFixed(2),
      gptq_calibration_seconds: +calibration.toFixed(2),
      gptq_layers_seconds: +layers.toFixed(2),
      gptq_seconds_per_layer: +(layers / model.spec.layers).toFixed(3),
    };
    console.log(JSON.stringify(r));
    results.push(r);
    model.source.close();
  }
  return {
    what: 'GPTQ int4 (act order, static groups, range search) against round-to-nearest: one-time cost per base',
    date: new Date().toISOString(),
    commit: commit(),
    device: `${device.kind} (${device.name})`,
    machine: machine(),
    peer: 'no GPTQ-time anchor was measured on the GPU machine (the anchors cover training steps and decode)',
    results,
  };
}

async function main() {
  const pref = arg('device', 'cpu') as DevicePref;
  const r = await gptqBench(pref, Number(arg('rows', String(CALIBRATION_DEFAULTS.rows))));
  console.log(writeResult(`gptq-time-${pref}-${r.date.slice(0, 10)}`, r));
}

if (process.argv[1]?.endsWith('gptq-time.ts'))
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
