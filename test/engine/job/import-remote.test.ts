import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { readPeftWeights, writePeftFiles } from '../../../src-main/engine/adapters/compat.js';
import { exportJobBundle } from '../../../src-main/engine/job/export-bundle.js';
import { parseTrainOptions } from '../../../src-main/engine/options/train.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-job-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPython = spawnSync('python3', ['--version']).status === 0;
const graft = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), ...args], { encoding: 'utf8', timeout: 120_000 });

/**
 * What a finished cluster run leaves in output/adapter: PEFT's two files and the graft.json that the bundle's
 * own train.py writes (its write_graft_json, called here without torch), then Graft's import of that folder.
 */
test.skipIf(!hasPython)('an adapter trained from a bundle comes back through the import, checked against the base, recording where it ran (needs python3)', async () => {
  const data = join(dir, 'zara.txt');
  writeFileSync(data, Array.from({ length: 12 }, (_, i) => `Once upon a time, there was a girl named Zara. She had ${i} cats.`).join('\n\n'));
  const bundle = join(dir, 'bundle');
  const options = parseTrainOptions({ rank: 4, alpha: 8, targets: ['q', 'v'], lr: 1e-3, steps: 3, batch: 2, seqLen: 64, schedule: 'constant', seed: 3, device: 'cpu' });
  const m = await exportJobBundle(
    { model: MODEL, data, out: bundle, options },
    bundle,
    { name: 'zara remote' },
  );
  const adapter = join(bundle, 'output', 'adapter');
  const init = readPeftWeights(join(bundle, 'init'));
  for (const [k, t] of init.tensors) if (k.includes('lora_B')) t.fill(0.01);
  await writePeftFiles(adapter, { ...init, tensors: init.tensors }, { baseModel: m.base.id });

  const py = `
import importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location("train", sys.argv[1] + "/train.py")
t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)
job = json.load(open(sys.argv[1] + "/graft-job.json"))
hist = [{"step": 1, "loss": 2.5}, {"step": 2, "loss": 2.0}, {"step": 3, "loss": 1.5, "evalLoss": 1.7}]
info = {"host": "gpu-node-7", "distributed": "FSDP", "processes": 1, "devices": ["NVIDIA H200"], "precision": "bf16",
        "software": {"torch": "2.11.0", "peft": "0.21.0"}}
t.write_graft_json(job, types.SimpleNamespace(out=sys.argv[2]), hist, 400, 12.5, info, 1.7, 3)
`;
  const w = spawnSync('python3', ['-c', py, bundle, adapter], { encoding: 'utf8' });
  expect(w.status, w.stderr).toBe(0);

  const lib = join(dir, 'lib');
  const r = graft('adapters', 'import', adapter, '--base', MODEL, '--library', lib, '--json');
  expect(r.status, r.stderr).toBe(0);
  const meta = JSON.parse(r.stdout);
  expect(meta).toMatchObject({
    name: 'zara remote',
    r: 4,
    alpha: 8,
    base: { id: MODEL, arch: 'llama' },
    dataset: { name: 'zara.txt', hash: m.dataset.hash },
    method: 'lora',
    remote: { host: 'gpu-node-7', distributed: 'FSDP', processes: 1, devices: ['NVIDIA H200'], precision: 'bf16', job: m.id },
    lossCurve: [{ step: 1, loss: 2.5 }, { step: 2, loss: 2 }, { step: 3, loss: 1.5, evalLoss: 1.7 }],
  });
  expect(meta.tags).toContain('remote');
  const show = graft('adapters', 'show', 'zara remote', '--library', lib);
  expect(show.stdout).toContain(`trained:  remotely on gpu-node-7 (1 × NVIDIA H200, FSDP, bf16; job ${m.id})`);

  // The compatibility check still applies: an adapter whose shapes do not fit the base is refused.
  const bad = join(dir, 'bad');
  const wrong = new Map([...init.tensors].map(([k, t]) => [k, new Float32Array(t.length * 2)]));
  await writePeftFiles(bad, { ...init, tensors: wrong }, { baseModel: null });
  const refused = graft('adapters', 'import', bad, '--base', MODEL, '--library', lib);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/shape|does not fit|incompatible/i);
});
