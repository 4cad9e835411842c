/**
 * `graft adapters export --format merged-gguf` (issue 18 item 2) and the CLI's GGUF LoRA default (issue 18,
 * smaller: F16, as the app's export dialog): flags from the export options schema, a Modelfile beside the GGUF,
 * never an existing file replaced, an option of another format refused by its flag.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePeftFiles } from '../../src-main/engine/adapters/compat.js';
import { LORA_TARGETS, peftTensorName } from '../../src-main/engine/adapters/lora-config.js';
import { openGguf } from '../../src-main/engine/io/gguf.js';
import { tmp } from '../engine/adapters/helpers.js';

const REPO = path.resolve(__dirname, '../..');
const STORIES = path.resolve(REPO, '../shared/models/stories260K/stories260K.gguf');
const lib = tmp('mgguf-lib');
const out = tmp('mgguf-out');

async function graft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(REPO, 'bin/graft.mjs'), 'adapters', ...args, '--library', lib], { cwd: REPO });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.skipIf(!existsSync(STORIES))('merged GGUF and GGUF LoRA export from the CLI (needs ../shared/models)', () => {
  beforeAll(async () => {
    // a small adapter for stories260K (dim 64, 8 heads, 4 KV heads, ffn 172, 5 layers)
    const dims: Record<string, [number, number]> = { q: [64, 64], k: [32, 64], v: [32, 64], o: [64, 64], gate: [172, 64], up: [172, 64], down: [64, 172] };
    const tensors = new Map<string, Float32Array>();
    let s = 5;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.1;
    for (let l = 0; l < 5; l++) {
      for (const t of LORA_TARGETS) {
        const [o, i] = dims[t];
        tensors.set(peftTensorName(l, t, 'A'), Float32Array.from({ length: 2 * i }, rand));
        tensors.set(peftTensorName(l, t, 'B'), Float32Array.from({ length: o * 2 }, rand));
      }
    }
    const dir = tmp('mgguf-adapter');
    await writePeftFiles(dir, { r: 2, alpha: 4, rslora: false, targets: [...LORA_TARGETS], tensors });
    expect((await graft('import', dir, '--name', 'tiny', '--base', STORIES)).code).toBe(0);
  }, 60_000);

  it('writes a Q8_0 merged GGUF with a Modelfile, and refuses to replace either', async () => {
    const file = path.join(out, 'tiny-q8.gguf');
    const r = await graft('export', 'tiny', '--format', 'merged-gguf', '--gguf-quant', 'Q8_0', '--out', file);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`wrote ${file}`);
    const g = openGguf(file);
    expect([g.metadata['general.file_type'], g.info('blk.0.attn_q.weight').typeName, g.metadata['general.name']]).toEqual([7, 'Q8_0', 'llama + tiny']);
    g.close();
    const modelfile = path.join(out, 'tiny-q8.Modelfile');
    expect(readFileSync(modelfile, 'utf8')).toMatch(/^FROM \.\/tiny-q8\.gguf$/m);
    const before = readFileSync(file);
    const again = await graft('export', 'tiny', '--format', 'merged-gguf', '--out', file);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`${file} already exists`);
    expect(readFileSync(file).equals(before)).toBe(true);
    // only the Modelfile exists: still nothing written
    const other = path.join(out, 'other.gguf');
    writeFileSync(path.join(out, 'other.Modelfile'), 'mine\n');
    expect((await graft('export', 'tiny', '--format', 'merged-gguf', '--out', other)).code).not.toBe(0);
    expect(existsSync(other)).toBe(false);
  }, 60_000);

  it('the GGUF LoRA is F16 unless --gguf-type F32; a merged-GGUF option on another format is refused by its flag', async () => {
    const lora = path.join(out, 'tiny-lora.gguf');
    expect((await graft('export', 'tiny', '--format', 'gguf', '--out', lora)).code).toBe(0);
    const g = openGguf(lora);
    expect(g.info('blk.0.attn_q.weight.lora_a').typeName).toBe('F16');
    g.close();
    const bad = await graft('export', 'tiny', '--format', 'gguf', '--gguf-quant', 'Q4_K_M', '--out', path.join(out, 'x.gguf'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--gguf-quant needs --format merged-gguf/);
    const badType = await graft('export', 'tiny', '--format', 'merged-gguf', '--gguf-quant', 'Q5', '--out', path.join(out, 'y.gguf'));
    expect(badType.stderr).toMatch(/--gguf-quant must be one of F16, Q8_0, Q4_K_M/);
  }, 60_000);
});
