import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPeftWeights } from '../../../src-main/engine/adapters/compat.js';
import { prepareDataset } from '../../../src-main/engine/data/prepare.js';
import { openModelSource } from '../../../src-main/engine/io/model-source.js';
import { openSafetensors } from '../../../src-main/engine/io/safetensors.js';
import { exportJobBundle, type JobManifest } from '../../../src-main/engine/job/export-bundle.js';
import { specFromConfig } from '../../../src-main/engine/models/index.js';
import { learningRate } from '../../../src-main/engine/train/schedule.js';
import { initLora } from '../../../src-main/engine/train/step-runner.js';
import { textEndToken } from '../../../src-main/engine/train/end-token.js';
import { alphaOf, parseTrainOptions } from '../../../src-main/engine/options/train.js';
import { datasetOptions, type TrainAdapterOptions } from '../../../src-main/engine/train/train-adapter.js';
import { runTrainingLoop } from '../../../src-main/engine/train/trainer.js';
import type { StepRunner, TokenBatch } from '../../../src-main/engine/train/types.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPython = spawnSync('python3', ['--version']).status === 0;

/** A chat dataset, so the bundle's rows carry the template rendering and the assistant-only mask. */
function chatData(): string {
  const p = join(dir, 'chat.jsonl');
  const rows = Array.from({ length: 23 }, (_, i) =>
    JSON.stringify({ messages: [{ role: 'user', content: `What is the name of girl ${i}?` }, { role: 'assistant', content: `Her name is Zara ${i % 5}.` }] }),
  );
  writeFileSync(p, rows.join('\n') + '\n');
  return p;
}

/** The run a local `graft train` would make of these options (validated as the CLI and the IPC validate them). */
const BASE = { rank: 4, alpha: 8, targets: ['q', 'v', 'down'], lr: 3e-3, steps: 7, batch: 3, gradAccum: 2, seqLen: 96, warmup: 2, schedule: 'cosine', valSplit: 0.2, evalEvery: 3, saveEvery: 0, maxGradNorm: 1, seed: 11, device: 'cpu' };
function options(data: string, over: Record<string, unknown> = {}): TrainAdapterOptions {
  return { model: MODEL, data, out: join(dir, 'unused'), options: parseTrainOptions({ ...BASE, ...over }) };
}
const loraOf = (x: TrainAdapterOptions) => ({ r: x.options.rank, alpha: alphaOf(x.options), dropout: x.options.dropout, targets: x.options.targets, rslora: x.options.rslora });

const readJsonl = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { input_ids: number[]; labels: number[] });
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Records every batch the local loop hands the device; the numbers it returns only need to be finite. */
function recordingRunner(): StepRunner & { train: TokenBatch[]; evals: TokenBatch[] } {
  const train: TokenBatch[] = [];
  const evals: TokenBatch[] = [];
  const count = (b: TokenBatch) => b.labels.filter((x, i) => x !== -100 && i % b.seqLen !== 0).length;
  return {
    train,
    evals,
    accumulate: async (b) => (train.push(b), { lossSum: 1, tokens: count(b) }),
    apply: async () => ({ gradNorm: 0 }),
    evalLoss: async (b) => (evals.push(b), { lossSum: 1, tokens: Math.max(1, count(b)) }),
    getState: async () => ({ lora: new Map(), m: new Map(), v: new Map() }),
    setState: async () => {},
    dispose: async () => {},
  };
}

describe('graft job bundle', () => {
  let out: string;
  let manifest: JobManifest;
  let o: TrainAdapterOptions;
  beforeAll(async () => {
    o = options(chatData());
    out = join(dir, 'bundle');
    manifest = await exportJobBundle(o, out, { name: 'zara names' });
  });

  test('writes every file, the launch scripts executable, and nothing left of its staging folder', () => {
    for (const f of ['train.py', 'launch.sh', 'job.sbatch', 'requirements.txt', 'README.md', 'graft-job.json', 'accelerate/fsdp.yaml', 'accelerate/deepspeed-zero3.yaml',
      'data/train.jsonl', 'data/val.jsonl', 'data/train-order.txt', 'init/adapter_model.safetensors', 'init/adapter_config.json', 'model/config.json', 'model/model.safetensors'])
      expect(existsSync(join(out, f)), f).toBe(true);
    for (const f of ['launch.sh', 'train.py', 'job.sbatch']) expect(statSync(join(out, f)).mode & 0o111, f).not.toBe(0);
    expect(readFileSync(join(out, 'launch.sh'), 'utf8')).toMatch(/LAUNCH=\(accelerate launch\)[\s\S]*exec "\$\{LAUNCH\[@\]\}" --config_file "\$CONFIG"/);
    expect(readFileSync(join(out, 'accelerate/fsdp.yaml'), 'utf8')).toMatch(/fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n[\s\S]*fsdp_state_dict_type: FULL_STATE_DICT/);
    expect(readFileSync(join(out, 'accelerate/deepspeed-zero3.yaml'), 'utf8')).toMatch(/distributed_type: DEEPSPEED[\s\S]*zero_stage: 3/);
    expect(readFileSync(join(out, 'job.sbatch'), 'utf8')).toMatch(/#SBATCH --job-name=graft-zara-names[\s\S]*srun .*launch\.sh/);
    expect(readFileSync(join(dir, 'bundle', 'README.md'), 'utf8')).toContain('graft adapters import output/adapter');
  });

  test('launch.sh hands accelerate the chosen config, the process count and the arguments; job.sbatch parses', () => {
    const bin = join(dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'accelerate'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, GRAFT_NPROC: '2' };
    const fsdp = spawnSync('bash', [join(out, 'launch.sh'), '--precision', 'fp32'], { encoding: 'utf8', env });
    expect(fsdp.stdout.trim()).toBe('launch --config_file accelerate/fsdp.yaml --num_machines 1 --machine_rank 0 --main_process_ip 127.0.0.1 --main_process_port 29500 --num_processes 2 train.py --precision fp32');
    const ds = spawnSync('bash', [join(out, 'launch.sh')], { encoding: 'utf8', env: { ...env, GRAFT_BACKEND: 'deepspeed', GRAFT_NNODES: '3', GRAFT_NODE_RANK: '1', GRAFT_MAIN_ADDR: 'node0' } });
    expect(ds.stdout.trim()).toBe('launch --config_file accelerate/deepspeed-zero3.yaml --num_machines 3 --machine_rank 1 --main_process_ip node0 --main_process_port 29500 --num_processes 6 train.py');
    const bad = spawnSync('bash', [join(out, 'launch.sh')], { encoding: 'utf8', env: { ...env, GRAFT_BACKEND: 'megatron' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('GRAFT_BACKEND must be fsdp or deepspeed');
    expect(spawnSync('bash', ['-n', join(out, 'job.sbatch')]).status).toBe(0);
  });

  test('requirements.txt pins every package to a release series', () => {
    const lines = readFileSync(join(out, 'requirements.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.map((l) => l.split('==')[0])).toEqual(['torch', 'transformers', 'peft', 'accelerate', 'safetensors']);
    for (const l of lines) expect(l).toMatch(/^[a-z]+==\d+\.\d+\.(\*|\d+)$/);
  });

  test('the manifest holds the base and data hashes, the settings, and the sha256 of every other file', async () => {
    const onDisk = JSON.parse(readFileSync(join(out, 'graft-job.json'), 'utf8')) as JobManifest;
    expect(onDisk).toEqual(manifest);
    expect(manifest.base.hash).toBe(sha(MODEL));
    expect(manifest.dataset.hash).toBe(sha(o.data));
    expect(Object.keys(manifest.files).sort()).toEqual(
      ['README.md', 'accelerate/deepspeed-zero3.yaml', 'accelerate/fsdp.yaml', 'data/train-order.txt', 'data/train.jsonl', 'data/val.jsonl', 'init/adapter_config.json',
        'init/adapter_model.safetensors', 'job.sbatch', 'launch.sh', 'model/config.json', 'model/model.safetensors', 'requirements.txt', 'train.py'],
    );
    for (const [rel, h] of Object.entries(manifest.files)) expect(sha(join(out, rel)), rel).toBe(h);
    expect(manifest.settings.train).toMatchObject({ lr: 3e-3, total_steps: 7, batch: 3, grad_accum: 2, seq_len: 96, warmup: 2, schedule: 'cosine', seed: 11, max_grad_norm: 1, eval_every: 3 });
    expect(manifest.settings.peft).toEqual({ r: 4, lora_alpha: 8, lora_dropout: 0, target_modules: ['q_proj', 'v_proj', 'down_proj'], use_rslora: false });
    // Same settings, base and data: the same job id.
    const again = await exportJobBundle(o, join(dir, 'bundle-again'), { name: 'zara names' });
    expect(again.id).toBe(manifest.id);
  });

  test("the rows, step by step, are exactly the batches Graft's local loop feeds the device", async () => {
    const source = await openModelSource(MODEL);
    const tok = (await source.tokenizer())!;
    const data = await prepareDataset(o.data, tok, datasetOptions(o, textEndToken(source, specFromConfig(source.config, source.path), tok).id));
    const runner = recordingRunner();
    await runTrainingLoop({ runner, train: data.train, val: data.val, batch: o.options.batch, seqLen: o.options.seqLen, gradAccum: o.options.gradAccum, padId: tok.eosIds[0], steps: o.options.steps ?? undefined,
      lr: o.options.lr, warmup: o.options.warmup, schedule: o.options.schedule, seed: o.options.seed, evalEvery: o.options.evalEvery });
    source.close();

    const rows = readJsonl(join(out, 'data/train.jsonl'));
    const order = readFileSync(join(out, 'data/train-order.txt'), 'utf8').trim().split('\n').map(Number);
    expect(order).toHaveLength(o.options.steps! * o.options.gradAccum * o.options.batch);
    expect(runner.train).toHaveLength(o.options.steps! * o.options.gradAccum);
    // Some labels are masked (the prompt) and some are not (the reply): the rows carry the template and the mask.
    expect(rows.some((r) => r.labels.some((x) => x === -100) && r.labels.some((x) => x !== -100))).toBe(true);
    runner.train.forEach((b, m) => {
      for (let r = 0; r < o.options.batch; r++) {
        const row = rows[order[m * o.options.batch + r]];
        const ids = Array.from(b.inputIds.slice(r * o.options.seqLen, (r + 1) * o.options.seqLen));
        const labels = Array.from(b.labels.slice(r * o.options.seqLen, (r + 1) * o.options.seqLen));
        expect(ids.slice(0, row.input_ids.length)).toEqual(row.input_ids);
        expect(labels.slice(0, row.labels.length)).toEqual(row.labels);
        expect(labels.slice(row.labels.length).every((x) => x === -100)).toBe(true);
      }
    });
    const val = readJsonl(join(out, 'data/val.jsonl'));
    expect(val.map((r) => r.input_ids)).toEqual(data.val.map((e) => Array.from(e.ids)));
    expect(runner.evals.length).toBeGreaterThan(0);
  });

  test("init/ is Graft's LoRA initialisation and model/ the GGUF base in Hugging Face names and fp32", async () => {
    const source = await openModelSource(MODEL);
    const init = initLora(specFromConfig(source.config, source.path), loraOf(o), o.options.seed);
    const saved = readPeftWeights(join(out, 'init'));
    expect([...saved.tensors.keys()].sort()).toEqual([...init.keys()].sort());
    for (const [k, t] of init) expect(saved.tensors.get(k)).toEqual(t.data);
    const st = openSafetensors(join(out, 'model/model.safetensors'));
    expect(st.names().sort()).toEqual(source.names().sort());
    for (const n of ['model.layers.0.self_attn.q_proj.weight', 'model.embed_tokens.weight']) expect(st.readF32(n)).toEqual(source.readF32(n));
    st.close();
    expect(JSON.parse(readFileSync(join(out, 'model/config.json'), 'utf8'))).toMatchObject({ architectures: ['LlamaForCausalLM'], tie_word_embeddings: source.config.tie_word_embeddings });
    source.close();
  });

  test.skipIf(!hasPython)("train.py --check verifies the files and computes Graft's learning-rate schedule (needs python3)", () => {
    const r = spawnSync('python3', [join(out, 'train.py'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const check = JSON.parse(r.stdout) as { ok: boolean; trainRows: number; lr: number[] };
    expect(check.trainRows).toBe(manifest.dataset.trainRows);
    const want = Array.from({ length: 7 }, (_, i) => learningRate(i + 1, { lr: o.options.lr, warmup: o.options.warmup, total: 7, kind: 'cosine' }));
    check.lr.forEach((lr, i) => expect(lr).toBeCloseTo(want[i], 15));
  });

  test.skipIf(!hasPython)('train.py refuses a changed data file, naming it (needs python3)', async () => {
    const copy = join(dir, 'tampered');
    await exportJobBundle(o, copy);
    appendFileSync(join(copy, 'data/train.jsonl'), '{"input_ids":[1,2],"labels":[1,2]}\n');
    const r = spawnSync('python3', [join(copy, 'train.py'), '--check'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('data/train.jsonl: sha256');
  });

  test('a folder that is not empty, --resume, and mismatched method options are refused', async () => {
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'x'), 'x');
    await expect(exportJobBundle(o, join(dir, 'full'))).rejects.toThrow(/is not empty/);
    await expect(exportJobBundle({ ...o, resume: out }, join(dir, 'r'))).rejects.toThrow(/\{resume\} is for local runs/);
    // Method options that do not apply are refused by the options' validator, before any export.
    expect(() => options(o.data, { quant: 'int4' })).toThrow(/needs \{method\} qlora/);
    await expect(exportJobBundle({ ...o, options: { ...o.options, method: 'ia3' } }, join(dir, 'ia3'))).rejects.toThrow(
      /a job bundle trains LoRA or QLoRA; \{method\} ia3 is not exported yet/,
    );
    expect(existsSync(join(dir, 'r'))).toBe(false);
  });

  test('graft job export takes the train flags and prints the manifest; what makes no sense for a bundle is refused', () => {
    const graft = (...a: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), 'job', 'export', ...a], { encoding: 'utf8', timeout: 120_000 });
    const out = join(dir, 'cli-bundle');
    const r = graft('--model', MODEL, '--data', o.data, '--out', out, '--steps', '3', '--batch', '2', '--seq-len', '96', '--rank', '2', '--targets', 'q,v', '--seed', '5', '--json');
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(res.manifest.settings.train).toMatchObject({ total_steps: 3, batch: 2, seq_len: 96, seed: 5, lr: 2e-4, schedule: 'cosine', max_grad_norm: 1 });
    expect(res.manifest.settings.peft).toMatchObject({ r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] });
    expect(JSON.parse(readFileSync(join(out, 'graft-job.json'), 'utf8')).id).toBe(res.manifest.id);
    const bad = graft('--model', MODEL, '--data', o.data, '--out', join(dir, 'cli-bad'), '--steps', '3', '--epochs', '1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--epochs cannot be given with --steps');
  }, 120_000);

  test('what the cluster will not reproduce is said in notes; QLoRA asks for bitsandbytes', async () => {
    const m = await exportJobBundle(options(o.data, { method: 'qlora', quant: 'int4', dropout: 0.1 }), join(dir, 'qlora'));
    expect(m.settings.quantization).toEqual({ bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true });
    expect(m.notes.join('\n')).toMatch(/dropout 0.1[\s\S]*bitsandbytes NF4/);
    expect(readFileSync(join(dir, 'qlora', 'requirements.txt'), 'utf8')).toMatch(/^bitsandbytes==/m);
    expect(readFileSync(join(dir, 'qlora', 'README.md'), 'utf8')).toContain('Differs from the local run');
  });
});
