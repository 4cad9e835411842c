import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuName, gpuOk } from './webgpu-under-test.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHARED = path.resolve(ROOT, '../shared');
const graft = (...args: string[]) => run(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), ...args], { cwd: ROOT, timeout: 120_000 });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('engine CLI', () => {
  it('generate: stories260K greedy from BOS tells the story of Lily', async () => {
    const { stdout } = await graft('generate', '--model', path.join(SHARED, 'models/stories260K/stories260K.gguf'), '--max-tokens', '90', '--temperature', '0', '--device', 'cpu');
    expect(stdout.startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.')).toBe(true);
  });

  it.skipIf(!gpuOk)(`${gpuName}: generate --precision fp16 tells the same story as fp32; a precision not offered is refused naming its flag`, async () => {
    const story = (precision: string) => graft('generate', '--model', path.join(SHARED, 'models/stories260K/stories260K.gguf'), '--max-tokens', '40', '--temperature', '0', '--device', 'gpu', '--precision', precision);
    const [half, full] = [await story('fp16'), await story('fp32')];
    expect(half.stdout.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    expect(half.stdout).toBe(full.stdout);
    const err = await story('fp8').then(() => null, (e) => e as { code: number; stderr: string });
    expect(err?.code).toBe(1);
    expect(err!.stderr).toMatch(/--precision/);
  });

  it('verify-reference prints the report and exits 0 for a good fixture', async () => {
    const { stdout } = await graft('verify-reference', path.join(SHARED, 'fixtures/hf-reference/qwen2'));
    const r = JSON.parse(stdout);
    for (const k of ['base_logits_max_abs', 'lora_logits_max_abs', 'merged_logits_max_abs', 'loss_abs', 'grad_max_rel']) expect(typeof r[k]).toBe('number');
    expect(r.grad_worst).toMatch(/lora_[AB]/);
    expect(r.ok).toBe(true);
  });

  it('verify-reference exits non-zero when the goldens disagree', async () => {
    const dir = path.join(tmp, 'llama');
    cpSync(path.join(SHARED, 'fixtures/hf-reference/llama'), dir, { recursive: true });
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    expected.lora_greedy[expected.lora_greedy.length - 1] = (expected.lora_greedy.at(-1) + 1) % 512;
    writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected));
    const err = await graft('verify-reference', dir).then(() => null, (e) => e as { code: number; stdout: string });
    expect(err?.code).toBe(1);
    expect(JSON.parse(err!.stdout).lora_greedy_equal).toBe(false);
  });

  it('a corrupt model gives a one-line error naming the file, exit code 1', async () => {
    const bad = path.join(tmp, 'bad.gguf');
    writeFileSync(bad, Buffer.from('GGUF not really'));
    const err = await graft('generate', '--model', bad, '--max-tokens', '4').then(() => null, (e) => e as { code: number; stderr: string });
    expect(err?.code).toBe(1);
    expect(err!.stderr).toContain(bad);
    expect(err!.stderr).toMatch(/BAD_FILE/);
  });
});
