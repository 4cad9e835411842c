import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBlendPart } from '../../src-main/cli/commands/adapters.js';
import { tmp, FIX } from '../engine/adapters/helpers.js';
import { openSafetensors } from '../../src-main/engine/io/safetensors.js';

const REPO = path.resolve(__dirname, '../..');
const lib = tmp('cli-lib');
const out = tmp('cli-out');
afterAll(() => {
  rmSync(lib, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

async function graft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/graft.mjs'), 'adapters', ...args, '--library', lib], { cwd: REPO });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('graft adapters CLI', () => {
  it('imports with a base check, and a mismatch exits non-zero naming it', async () => {
    const ok = await graft('import', path.join(FIX, 'llama/adapter'), '--name', 'll', '--base', path.join(FIX, 'llama/model'), '--json');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/warning: .* does not say which architecture .* only layer count and tensor shapes were checked/);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'll', r: 4, alpha: 8, base: { arch: 'llama' } });
    const bad = await graft('import', path.join(FIX, 'qwen2/adapter'), '--arch', 'qwen2', '--base', path.join(FIX, 'llama/model'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/INCOMPATIBLE: .*made for a qwen2 model .* is llama .*layers\.0\.self_attn\.q_proj\.lora_A\.weight/);
    expect((await graft('import', path.join(FIX, 'qwen2/adapter'), '--name', 'qw')).code).toBe(0);
  }, 60_000);

  it('an adapter whose base Graft recorded carries it: checked on export and on import elsewhere', async () => {
    expect((await graft('import', path.join(FIX, 'qwen2/adapter'), '--name', 'qw-known', '--base', path.join(FIX, 'qwen2/model'))).code).toBe(0);
    const merged = await graft('export', 'qw-known', '--format', 'merged', '--out', path.join(out, 'wrong'), '--base', path.join(FIX, 'llama/model'));
    expect(merged.code).not.toBe(0);
    expect(merged.stderr).toMatch(/INCOMPATIBLE: adapter qw-known was made for a qwen2 model but base .*llama\/model is llama/);
    expect((await graft('export', 'qw-known', '--format', 'peft-zip', '--out', path.join(out, 'qw.zip'))).code).toBe(0);
    const again = await graft('import', path.join(out, 'qw.zip'), '--base', path.join(FIX, 'llama/model'));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/qw\.zip was made for a qwen2 model but base .* is llama \(first target tensor: base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight\)/);
    expect((await graft('rm', 'qw-known')).code).toBe(0);
  }, 60_000);

  it('lists, exports PEFT byte-identical and GGUF with a Modelfile, blends, deletes and restores', async () => {
    const list = JSON.parse((await graft('list', '--json')).stdout);
    expect(list.entries.map((e: { name: string }) => e.name)).toEqual(['ll', 'qw']);
    expect((await graft('export', 'll', '--format', 'peft', '--out', path.join(out, 'peft'))).code).toBe(0);
    expect(Buffer.compare(readFileSync(path.join(out, 'peft/adapter_model.safetensors')), readFileSync(path.join(FIX, 'llama/adapter/adapter_model.safetensors')))).toBe(0);
    // F32 for a byte-identical round trip (the default is F16, as in the app)
    const g = await graft('export', 'll', '--format', 'gguf', '--gguf-type', 'F32', '--out', path.join(out, 'll.gguf'));
    expect(g.code).toBe(0);
    expect(readFileSync(path.join(out, 'll.Modelfile'), 'utf8')).toMatch(/^FROM .*llama\/model\nADAPTER \.\/ll\.gguf$/m);
    // the GGUF comes back in through import (needs the base to undo llama.cpp's Q/K order)
    expect((await graft('import', path.join(out, 'll.gguf'))).stderr).toMatch(/needs its base model \(--base\)/);
    expect((await graft('import', path.join(out, 'll.gguf'), '--name', 'from-gguf', '--base', path.join(FIX, 'llama/model'))).code).toBe(0);
    expect((await graft('export', 'from-gguf', '--format', 'peft', '--out', path.join(out, 'peft2'))).code).toBe(0);
    const a = openSafetensors(path.join(FIX, 'llama/adapter/adapter_model.safetensors'));
    const b = openSafetensors(path.join(out, 'peft2/adapter_model.safetensors'));
    for (const n of a.names()) expect(Buffer.compare(a.readRaw(n), b.readRaw(n))).toBe(0);
    a.close();
    b.close();
    expect((await graft('rm', 'from-gguf')).code).toBe(0);
    // merged export finds the base recorded at import
    expect((await graft('export', 'll', '--format', 'merged', '--out', path.join(out, 'merged'))).code).toBe(0);
    expect(existsSync(path.join(out, 'merged/model.safetensors'))).toBe(true);
    // no recorded base and none given: a clear refusal
    const noBase = await graft('export', 'qw', '--format', 'merged', '--out', path.join(out, 'm'));
    expect(noBase.code).not.toBe(0);
    expect(noBase.stderr).toMatch(/--base is needed for a merged export: adapter qw records/);
    expect(existsSync(path.join(out, 'm'))).toBe(false);
    const blend = JSON.parse((await graft('blend', 'll:0.5', 'qw:0.5', '--name', 'mix', '--rank', '4', '--json')).stdout);
    expect(blend).toMatchObject({ name: 'mix', r: 4, mode: 'compressed' });
    expect(blend.relativeError).toBeGreaterThan(0);
    expect((await graft('rm', 'mix')).code).toBe(0);
    expect(JSON.parse((await graft('list', '--json')).stdout).entries).toHaveLength(2);
    expect((await graft('restore')).stdout).toMatch(/restored mix/);
    expect(JSON.parse((await graft('show', 'mix', '--json')).stdout).tags).toEqual(['blend']);
    expect((await graft('show', 'nope')).stderr).toMatch(/NOT_FOUND: no adapter "nope"/);
  }, 120_000);

  it('parses NAME:WEIGHT blend parts', () => {
    expect(parseBlendPart('a:b:0.25')).toEqual({ ref: 'a:b', weight: 0.25 });
    expect(() => parseBlendPart('poems')).toThrow(/NAME:WEIGHT/);
    expect(() => parseBlendPart('poems:x')).toThrow(/NAME:WEIGHT/);
  });
});
